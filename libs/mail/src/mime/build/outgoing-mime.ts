import MailComposer from 'nodemailer/lib/mail-composer';
import { toASCII } from 'nodemailer/lib/punycode';

export interface MimeAddress {
  name: string;
  address: string;
}

export interface MimeAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

/** Everything a message is built from; the Message-ID and Date are fixed by the caller. */
export interface OutgoingMimeInput {
  from: MimeAddress;
  to: readonly MimeAddress[];
  cc: readonly MimeAddress[];
  bcc: readonly MimeAddress[];
  replyTo: readonly MimeAddress[];
  subject: string;
  text: string | null;
  html: string | null;
  inReplyTo: string | null;
  references: readonly string[];
  attachments: readonly MimeAttachment[];
  /** With angle brackets, e.g. `<uuid@example.com>`. */
  messageId: string;
  date: Date;
  /** Extra header fields (already validated: no line breaks). */
  headers?: Readonly<Record<string, string>>;
}

export interface SmtpEnvelope {
  from: string;
  to: string[];
}

/**
 * Builds the RFC 5322 message with nodemailer's MailComposer. The copy handed to SMTP leaves Bcc
 * out (RFC 5322 §3.6.3: blind recipients must not see each other); the copy filed in Sent or
 * Drafts keeps it (`keepBcc`) so the sender still sees whom it went to.
 */
export async function buildOutgoingMime(input: OutgoingMimeInput, options: { keepBcc: boolean }): Promise<Buffer> {
  const composer = new MailComposer({
    from: input.from,
    to: [...input.to],
    cc: [...input.cc],
    bcc: [...input.bcc],
    replyTo: input.replyTo.length > 0 ? [...input.replyTo] : undefined,
    subject: input.subject,
    text: input.text ?? undefined,
    html: input.html ?? undefined,
    inReplyTo: input.inReplyTo ?? undefined,
    references: input.references.length > 0 ? [...input.references] : undefined,
    messageId: input.messageId,
    date: input.date,
    headers: input.headers ? { ...input.headers } : undefined,
    attachments: input.attachments.map((attachment) => ({
      filename: attachment.filename,
      contentType: attachment.contentType,
      content: attachment.content,
    })),
    // Content is always bytes we hold; never let a value be read as a path or URL.
    disableFileAccess: true,
    disableUrlAccess: true,
    newline: 'win',
  });
  const root = composer.compile();
  root.keepBcc = options.keepBcc;
  return root.build();
}

/** Every address in the envelope is ASCII: IDN domains in punycode, since servers may not offer SMTPUTF8. */
export function smtpEnvelope(input: Pick<OutgoingMimeInput, 'from' | 'to' | 'cc' | 'bcc'>): SmtpEnvelope {
  const unique = new Set<string>();
  for (const recipient of [...input.to, ...input.cc, ...input.bcc]) unique.add(asciiAddress(recipient.address));
  return { from: asciiAddress(input.from.address), to: [...unique] };
}

export function asciiAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return address;
  return `${address.slice(0, at)}@${toASCII(address.slice(at + 1).toLowerCase())}`;
}

/** The domain part of a Message-ID must be ASCII (RFC 5322 §3.6.4 id-right is dot-atom-text). */
export function messageIdDomain(senderAddress: string): string {
  const at = senderAddress.lastIndexOf('@');
  const domain = at < 0 ? 'localhost' : senderAddress.slice(at + 1);
  return toASCII(domain.toLowerCase());
}
