import type { MailAddress, NewMailAttachment, ReportedDelivery, SyncedMessage } from '@app/database';
import { attachmentsOfStructure, headerSection, parseHeaderBlock, threadHeaders } from '@app/mail';
import type { ParsedMessage, ParseOutcome } from '@app/mail';
import type { FetchMessageObject, MessageAddressObject } from 'imapflow';

function envelopeAddresses(list: MessageAddressObject[] | undefined): MailAddress[] {
  return (list ?? [])
    .filter((entry) => entry.address || entry.name)
    .map((entry) => ({ name: entry.name ?? '', address: entry.address ?? '' }));
}

function validDate(value: Date | string | undefined): Date | null {
  if (value === undefined) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** \Recent belongs to one session (RFC 3501 section 2.3.2, dropped by RFC 9051): not a stored flag. */
export function flagsOf(meta: Pick<FetchMessageObject, 'flags'>): string[] {
  return [...(meta.flags ?? new Set<string>())].filter((flag) => flag !== '\\Recent').sort();
}

/**
 * Attachment metadata from the server's BODYSTRUCTURE when it was fetched (envelope-only and
 * unparseable messages), else from mailparser, whose part numbers follow the same IMAP scheme
 * (RFC 3501 section 6.4.5), so a later FETCH BODY[part] finds the bytes either way.
 */
function attachmentsOf(meta: FetchMessageObject, parsed: ParsedMessage | null): NewMailAttachment[] {
  if (!meta.bodyStructure && parsed) {
    return parsed.attachments.map((attachment) => ({
      partId: attachment.partId ?? '1',
      filename: attachment.filename,
      contentType: attachment.contentType,
      size: attachment.size,
      contentId: attachment.contentId,
      inline: attachment.inline,
    }));
  }
  const decodedSizes = new Map(
    (parsed?.attachments ?? []).map((attachment) => [attachment.partId ?? '1', attachment.size]),
  );
  return attachmentsOfStructure(meta.bodyStructure).map((attachment) => ({
    partId: attachment.partId,
    filename: attachment.filename,
    contentType: attachment.contentType,
    size: decodedSizes.get(attachment.partId) ?? attachment.size,
    contentId: attachment.contentId,
    inline: attachment.inline,
  }));
}

/** A notice worth recording: it names the message it is about and at least one recipient. */
function deliveryReportOf(parsed: ParsedMessage, receivedAt: Date): ReportedDelivery | null {
  const bounce = parsed.bounce;
  if (!bounce?.originalMessageId || bounce.recipients.length === 0) return null;
  return {
    originalMessageId: bounce.originalMessageId,
    onlySendRecipients: bounce.source === 'prose',
    recipients: bounce.recipients,
    reportedAt: parsed.date ?? receivedAt,
  };
}

/** The fields ENVELOPE and the header block give, for messages stored without (or despite failed) parsing. */
function fromEnvelope(
  meta: FetchMessageObject,
  headerBlock: Buffer | null,
): Omit<SyncedMessage, 'parseState' | 'attachments' | 'hasAttachments' | 'deliveryReport'> {
  const envelope = meta.envelope;
  const headers = headerBlock ? parseHeaderBlock(headerBlock) : null;
  const thread = headers ? threadHeaders(headers) : { inReplyTo: envelope?.inReplyTo ?? null, references: [] };
  const from = envelopeAddresses(envelope?.from)[0] ?? null;
  return {
    uid: meta.uid,
    modseq: meta.modseq !== undefined ? meta.modseq.toString() : null,
    messageId: envelope?.messageId ?? null,
    inReplyTo: thread.inReplyTo ?? envelope?.inReplyTo ?? null,
    references: thread.references,
    subject: envelope?.subject ?? null,
    fromName: from?.name ?? null,
    fromAddress: from?.address ?? null,
    to: envelopeAddresses(envelope?.to),
    cc: envelopeAddresses(envelope?.cc),
    bcc: envelopeAddresses(envelope?.bcc),
    replyTo: envelopeAddresses(envelope?.replyTo),
    sentAt: validDate(envelope?.date),
    receivedAt: validDate(meta.internalDate) ?? validDate(envelope?.date) ?? new Date(),
    flags: flagsOf(meta),
    size: meta.size ?? 0,
    snippet: null,
    textBody: null,
    htmlBody: null,
    headers,
  };
}

/**
 * One fetched message as a row. `source` is the full message when it was fetched; `outcome` is
 * mailparser's verdict on it (null when parsing is off or the message was too large to fetch).
 */
export function toSyncedMessage(
  meta: FetchMessageObject,
  source: Buffer | null,
  outcome: ParseOutcome | null,
  headerBlock: Buffer | null = null,
): SyncedMessage {
  if (outcome?.ok) {
    const parsed = outcome.message;
    const attachments = attachmentsOf(meta, parsed);
    const envelope = fromEnvelope(meta, null);
    return {
      ...envelope,
      messageId: parsed.messageId ?? envelope.messageId,
      inReplyTo: parsed.inReplyTo,
      references: parsed.references,
      subject: parsed.subject ?? envelope.subject,
      fromName: parsed.from?.name ?? envelope.fromName,
      fromAddress: parsed.from?.address ?? envelope.fromAddress,
      to: parsed.to,
      cc: parsed.cc,
      bcc: parsed.bcc,
      replyTo: parsed.replyTo,
      sentAt: parsed.date ?? envelope.sentAt,
      snippet: parsed.snippet,
      textBody: parsed.text,
      htmlBody: parsed.html,
      headers: parsed.headers,
      parseState: 'parsed',
      attachments,
      hasAttachments: attachments.some((attachment) => !attachment.inline),
      deliveryReport: deliveryReportOf(parsed, envelope.receivedAt),
    };
  }
  const attachments = attachmentsOf(meta, null);
  const envelope = fromEnvelope(meta, headerBlock ?? (source ? headerSection(source) : null));
  return {
    ...envelope,
    parseState: outcome && !outcome.ok ? 'unparseable' : 'envelope',
    snippet: null,
    attachments,
    hasAttachments: attachments.some((attachment) => !attachment.inline),
    deliveryReport: null,
  };
}
