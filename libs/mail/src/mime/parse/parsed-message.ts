import type { BounceReport } from './bounce-report.js';

/** An address as clients see it; mirrors the database's MailAddress without depending on it. */
export interface ParsedAddress {
  name: string;
  address: string;
}

export interface ParsedAttachment {
  /** The MIME part number as IMAP numbers it (RFC 3501 section 6.4.5), null for a single-part message. */
  partId: string | null;
  filename: string | null;
  contentType: string;
  /** Decoded size in bytes. */
  size: number;
  contentId: string | null;
  inline: boolean;
}

/**
 * What mailparser decoded from one RFC 5322 source. Plain data only, so it crosses a
 * worker_threads boundary by structured clone.
 */
export interface ParsedMessage {
  subject: string | null;
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  from: ParsedAddress | null;
  to: ParsedAddress[];
  cc: ParsedAddress[];
  bcc: ParsedAddress[];
  replyTo: ParsedAddress[];
  date: Date | null;
  text: string | null;
  html: string | null;
  snippet: string | null;
  headers: Record<string, string | string[]>;
  attachments: ParsedAttachment[];
  /** What the message reports about the delivery of one the mailbox's owner sent, when it is a bounce or delay notice. */
  bounce: BounceReport | null;
}

export type ParseOutcome = { ok: true; message: ParsedMessage } | { ok: false; reason: string };
