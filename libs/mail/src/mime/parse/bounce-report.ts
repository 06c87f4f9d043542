import { messageIdsOf, parseHeaderBlock, withoutNul } from './header-block.js';
import { allParts, decodedBody, mimePartOf } from './mime-parts.js';
import type { MimePart } from './mime-parts.js';

/** What a failed recipient's report says went wrong, for clients to act on (remove the address, retry later, …). */
export const BOUNCE_CATEGORIES = [
  'mailbox_unknown',
  'mailbox_full',
  'mailbox_disabled',
  'domain_unknown',
  'message_too_large',
  'spam_rejected',
  'policy_rejected',
  'network_error',
  'other',
] as const;
export type BounceCategory = (typeof BOUNCE_CATEGORIES)[number];

/** `failed`: the server gave up on the recipient. `delayed`: it is still trying (RFC 3464 section 2.3.3). */
export type DeliveryAction = 'failed' | 'delayed';

export interface RecipientReport {
  /** The address as the sender wrote it when the report says so (Original-Recipient), else where delivery failed. */
  recipient: string;
  action: DeliveryAction;
  /** RFC 3463 enhanced status code, e.g. `5.1.1`. */
  status: string | null;
  /** The remote server's words, whitespace collapsed. */
  diagnostic: string | null;
  category: BounceCategory;
}

/**
 * How the report named its recipients: the fields of an RFC 3464 delivery-status part, the
 * fixed layout of a known MTA's notice, or addresses picked out of a provider's prose, which a
 * caller should only believe for addresses the original message was really sent to.
 */
export type BounceReportSource = 'dsn' | 'mta_text' | 'prose';

/** A delivery status notification about a message this mailbox's owner sent. */
export interface BounceReport {
  /** Message-ID of the message that was not delivered, angle brackets included. */
  originalMessageId: string | null;
  source: BounceReportSource;
  recipients: RecipientReport[];
}

type Headers = Readonly<Record<string, string | string[]>>;

function firstValue(headers: Headers, name: string): string | null {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

function collapse(text: string): string {
  return withoutNul(text).replace(/\s+/g, ' ').trim();
}

/**
 * A whole token that is an address. Text is cut into tokens first: searching a long word for an
 * address backtracks quadratically, and a notice is text anyone can send.
 */
const ADDRESS =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
/** RFC 5321 section 4.5.3.1.3: a path is at most 256 octets. */
const MAX_ADDRESS_LENGTH = 256;
/** RFC 5322 section 2.1.1: a line is at most 998 characters; longer ones name no recipient. */
const MAX_LINE_LENGTH = 998;
const ENHANCED_STATUS = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;
/** Local parts of the addresses MTAs send their notices from. */
const DAEMON_SENDER = /^(mailer-daemon|mail-daemon|mailerdaemon|postmaster|mail\.delivery\.system)@/i;
const BOUNCE_SUBJECT =
  /undeliver|delivery (status notification|failure|failed|has failed|problem|incomplete)|mail delivery failed|returned mail|failure notice|non-?delivery|could not be delivered|not delivered|returned to sender|delivery notification|warning: message .* delayed|delayed mail/i;

/** The notice's own sender and recipient: never among the recipients it reports on. */
function ownAddresses(headers: Headers): Set<string> {
  return new Set(
    addressesIn([firstValue(headers, 'from'), firstValue(headers, 'to'), firstValue(headers, 'return-path')].join(' ')),
  );
}

function addressesIn(text: string): string[] {
  const found = new Set<string>();
  for (const token of text.split(/[\s<>()[\]:;,"]+/)) {
    if (token.length > MAX_ADDRESS_LENGTH + 2 || !token.includes('@')) continue;
    const candidate = token.replace(/^['.]+|['.]+$/g, '');
    if (ADDRESS.test(candidate)) found.add(candidate.toLowerCase());
  }
  return [...found];
}

function enhancedStatus(text: string | null): string | null {
  const match = text ? ENHANCED_STATUS.exec(text) : null;
  return match ? `${match[1]}.${Number(match[2])}.${Number(match[3])}` : null;
}

/** Text fallbacks, for notices without an enhanced status code or with one too general to tell (x.0.0, x.7.x). */
const CATEGORY_PATTERNS: readonly [BounceCategory, RegExp][] = [
  [
    'spam_rejected',
    /\bspam\b|junk|blocklist|blacklist|block ?list|\bblocked\b|reputation|\brbl\b|spamhaus|listed (at|on|in)/i,
  ],
  [
    'mailbox_full',
    /mailbox (is )?full|over ?quota|quota exceeded|exceeded (the |their )?(storage|quota)|insufficient (system )?storage|out of storage/i,
  ],
  ['mailbox_disabled', /disabled|deactivated|inactive|suspended|no longer (active|in use|available)/i],
  ['message_too_large', /too (big|large)|size limit|exceed(s|ed)? .*(size|limit)|message size/i],
  [
    'mailbox_unknown',
    /user unknown|unknown user|no such (user|mailbox|recipient|person)|does ?n[o']t exist|doesn't have|not exist|invalid (recipient|mailbox|address)|recipient (address )?rejected|recipient not found|mailbox unavailable|mailbox not found|unknown recipient|no mailbox|address (couldn't|could not|cannot) be found|address not found|couldn't be found|unrouteable address/i,
  ],
  [
    'domain_unknown',
    /host (or domain name )?not found|domain (not found|does not exist)|no (mx|mail exchanger)|name or service not known|unroutable domain|dns (error|lookup)/i,
  ],
  [
    'policy_rejected',
    /policy|not (permitted|allowed|authori[sz]ed)|relay(ing)? (access )?denied|dmarc|\bspf\b|dkim|authentication/i,
  ],
  ['network_error', /timed? ?out|connection (refused|reset|lost|closed)|network|unreachable|too many hops|mail loop/i],
];

/** RFC 3463: the subject and detail of an enhanced status code, then the text where the code says too little. */
export function bounceCategory(status: string | null, text: string | null): BounceCategory {
  const [, subject, detail] = (status ?? '').split('.').map(Number);
  const byText = (): BounceCategory | null =>
    text ? (CATEGORY_PATTERNS.find(([, pattern]) => pattern.test(text))?.[0] ?? null) : null;
  switch (subject) {
    case 1:
      if (detail === 1 || detail === 3 || detail === 6) return 'mailbox_unknown';
      if (detail === 2 || detail === 10) return byText() === 'mailbox_unknown' ? 'mailbox_unknown' : 'domain_unknown';
      break;
    case 2:
      if (detail === 1) return 'mailbox_disabled';
      if (detail === 2) return 'mailbox_full';
      if (detail === 3) return 'message_too_large';
      break;
    case 3:
      if (detail === 1) return 'mailbox_full';
      if (detail === 4) return 'message_too_large';
      break;
    case 4:
      return detail === 4 ? 'domain_unknown' : 'network_error';
    case 7: {
      const found = byText();
      return found === 'spam_rejected' ? 'spam_rejected' : 'policy_rejected';
    }
    default:
      break;
  }
  return byText() ?? 'other';
}

function recipientReport(
  recipient: string,
  action: DeliveryAction,
  status: string | null,
  diagnostic: string | null,
): RecipientReport {
  return {
    recipient: recipient.toLowerCase(),
    action,
    status,
    diagnostic,
    category: bounceCategory(status, diagnostic),
  };
}

/** The Message-ID a header block names; a bare id some MTAs write without brackets gets them back. */
function messageIdOfHeaders(headers: Headers): string | null {
  const value = firstValue(headers, 'message-id');
  if (!value) return null;
  const [bracketed] = messageIdsOf(value);
  if (bracketed) return bracketed;
  const bare = value.trim();
  return /^[^<>\s@]+@[^<>\s@]+$/.test(bare) ? `<${bare}>` : null;
}

const DELIVERY_STATUS_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);
const ORIGINAL_MESSAGE_TYPES = new Set(['message/rfc822', 'message/global']);
const ORIGINAL_HEADER_TYPES = new Set(['text/rfc822-headers', 'message/global-headers']);

/** The Message-ID of a returned message or of its returned headers, among the parts. */
function returnedMessageId(parts: readonly MimePart[]): string | null {
  for (const part of parts) {
    if (ORIGINAL_MESSAGE_TYPES.has(part.type)) {
      const id = messageIdOfHeaders(mimePartOf(decodedBody(part)).headers);
      if (id) return id;
    } else if (ORIGINAL_HEADER_TYPES.has(part.type)) {
      const id = messageIdOfHeaders(parseHeaderBlock(decodedBody(part)));
      if (id) return id;
    }
  }
  return null;
}

/** The groups of fields of a delivery-status body (RFC 3464 section 2.1), separated by empty lines. */
function fieldGroups(body: string): Record<string, string | string[]>[] {
  return body
    .split(/\r?\n(?:[ \t]*\r?\n)+/)
    .filter((group) => group.trim() !== '')
    .map((group) => parseHeaderBlock(Buffer.from(`${group.replace(/^\s*\r?\n/, '')}\n`)));
}

/** `rfc822; user@example.com` → the address; other address types (x400, utf-8 with xtext) are kept as written. */
function typedAddress(value: string | null): string | null {
  if (!value) return null;
  const semicolon = value.indexOf(';');
  const address = (semicolon === -1 ? value : value.slice(semicolon + 1)).trim().replace(/^<(.*)>$/, '$1');
  return address === '' ? null : address;
}

/** `smtp; 550 5.1.1 …` → `550 5.1.1 …`. */
function diagnosticText(value: string | null): string | null {
  if (!value) return null;
  const semicolon = value.indexOf(';');
  const text = collapse(semicolon === -1 ? value : value.slice(semicolon + 1));
  return text === '' ? null : text;
}

/** RFC 3464's `failed` and `delayed`; some servers write `failure` or add a comment. */
function deliveryAction(value: string | null): DeliveryAction | null {
  const word = value?.trim().toLowerCase() ?? '';
  if (word.startsWith('fail')) return 'failed';
  if (word.startsWith('delay')) return 'delayed';
  return null;
}

/** RFC 3464 (and RFC 6533 for internationalised addresses): one report per failed or delayed recipient. */
function deliveryStatusReport(root: MimePart, parts: readonly MimePart[], status: MimePart): BounceReport | null {
  // The per-message group comes first; some MTAs leave it out, so recipients are told by their fields.
  const perRecipient = fieldGroups(decodedBody(status).toString('utf8')).filter(
    (fields) => 'final-recipient' in fields || 'original-recipient' in fields,
  );
  const recipients: RecipientReport[] = [];
  for (const fields of perRecipient) {
    const action = deliveryAction(firstValue(fields, 'action'));
    if (!action) continue;
    const original = typedAddress(firstValue(fields, 'original-recipient'));
    const final = typedAddress(firstValue(fields, 'final-recipient'));
    const recipient = original && original.includes('@') ? original : final;
    if (!recipient) continue;
    const statusField = firstValue(fields, 'status');
    // Without a Diagnostic-Code, a Status that is no code but words is the only reason given.
    const diagnostic =
      diagnosticText(firstValue(fields, 'diagnostic-code')) ??
      (statusField && !enhancedStatus(statusField) ? collapse(statusField) : null);
    let code = enhancedStatus(statusField);
    // A generic x.0.0 says less than the remote server's own code in the diagnostic.
    const remote = enhancedStatus(diagnostic);
    if (code && remote && code.endsWith('.0.0') && remote[0] === code[0]) code = remote;
    recipients.push(recipientReport(recipient, action, code, diagnostic));
  }
  if (recipients.length === 0) return null;
  return {
    originalMessageId: returnedMessageId(parts) ?? inReplyToOf(root.headers),
    source: 'dsn',
    recipients,
  };
}

function inReplyToOf(headers: Headers): string | null {
  return messageIdsOf(firstValue(headers, 'in-reply-to'))[0] ?? null;
}

/** Where a notice stops and the copy of the original message (or its headers) begins. */
const ORIGINAL_MARKERS = [
  /^-+ ?Below this line is a copy of the message\.?/im,
  /^-+ ?This is a copy of the message\b/im,
  /^-+ ?The header of the original message is following\.? ?-+/im,
  /^-+ ?Original message ?-+/im,
  /^Original message headers:/im,
  /^-+ ?Original Message Headers ?-+/im,
];

/** The notice and the returned copy after it, split at the first marker found. */
function splitAtOriginal(text: string): { notice: string; original: string } {
  let cut = -1;
  for (const marker of ORIGINAL_MARKERS) {
    const match = marker.exec(text);
    if (match && (cut === -1 || match.index < cut)) cut = match.index;
  }
  return cut === -1 ? { notice: text, original: '' } : { notice: text.slice(0, cut), original: text.slice(cut) };
}

/** A `Message-ID:` field quoted in a text body, possibly folded onto the next line. */
function quotedMessageId(text: string): string | null {
  const match = /^Message-ID:\s*(<[^<>\s]+>)/im.exec(text);
  return match?.[1] ?? null;
}

interface NoticeBlock {
  address: string;
  reason: string;
}

/** `<user@example.com>: reason` (qmail, Postfix before DSNs), `<user@example.com>... reason` and `<user@example.com>` (sendmail). */
const ANGLE_ADDRESS_LINE = /^<([^\s<>]+@[^\s<>]+)>(?::|\.\.\.)?(?:\s+(.*))?$/;
/** Exim's `  user@example.com`, its reasons indented further. */
const INDENTED_ADDRESS_LINE = /^ {1,2}([^\s<>@]+@[^\s<>:]+):?(?:\s+(.*))?$/;

/**
 * The recipient blocks of a notice: a line naming an address (with the reason after it, if any),
 * then the reason's lines up to an empty line. With `heading`, blocks follow it and end at the
 * first other text (Exim's indented layout); without, each line starting with `<address>` is one.
 */
function noticeBlocks(notice: string, heading: RegExp | null): NoticeBlock[] {
  let body = notice;
  if (heading) {
    const match = heading.exec(notice);
    if (!match) return [];
    body = notice.slice(match.index + match[0].length);
  }
  const addressLine = heading ? INDENTED_ADDRESS_LINE : ANGLE_ADDRESS_LINE;
  const blocks: NoticeBlock[] = [];
  let current: { address: string; lines: string[] } | null = null;
  const close = (): void => {
    if (current) blocks.push({ address: current.address, reason: collapse(current.lines.join(' ')) });
    current = null;
  };
  for (const line of body.split(/\r?\n/)) {
    const named = line.length <= MAX_LINE_LENGTH ? addressLine.exec(line) : null;
    if (named?.[1]) {
      close();
      current = { address: named[1], lines: named[2] ? [named[2]] : [] };
    } else if (line.trim() === '') {
      close();
    } else if (current) {
      current.lines.push(line.trim());
    } else if (heading && blocks.length > 0) {
      break;
    }
  }
  close();
  return blocks;
}

/**
 * The recipients of a notice's blocks. A block without a reason of its own (sendmail lists the
 * addresses, then the session's transcript) takes the server reply the notice quotes.
 */
function blockRecipients(notice: string, blocks: readonly NoticeBlock[], action: DeliveryAction): RecipientReport[] {
  if (blocks.length === 0) return [];
  const quoted = quotedReply(notice);
  return blocks.map(({ address, reason }) => {
    const diagnostic = reason === '' ? quoted : reason;
    return recipientReport(address, action, enhancedStatus(diagnostic), diagnostic);
  });
}

/**
 * A notice listing `<address>` lines with their reasons: qmail's, Postfix's before it wrote
 * DSNs, sendmail's. The notice's own sender and recipient and daemon addresses are no recipients.
 */
function angleAddressReport(text: string, headers: Headers, parts: readonly MimePart[]): BounceReport | null {
  const { notice, original } = splitAtOriginal(text);
  const own = ownAddresses(headers);
  const blocks = noticeBlocks(notice, null).filter(
    (block) => !own.has(block.address.toLowerCase()) && !DAEMON_SENDER.test(block.address),
  );
  if (blocks.length === 0) return null;
  return {
    originalMessageId: quotedMessageId(original) ?? returnedMessageId(parts) ?? inReplyToOf(headers),
    source: 'mta_text',
    recipients: blockRecipients(notice, blocks, DELAYED_NOTICE.test(notice) ? 'delayed' : 'failed'),
  };
}

/** Exim's notice, of a failure ("The following address(es) failed") or of a delay warning. */
function eximReport(text: string, parts: readonly MimePart[]): BounceReport | null {
  if (!/This message was created automatically by mail delivery software/i.test(text)) return null;
  const { notice, original } = splitAtOriginal(text);
  const recipients = [
    ...blockRecipients(notice, noticeBlocks(notice, /The following address\(es\) failed:/i), 'failed'),
    ...blockRecipients(notice, noticeBlocks(notice, /(?:has|have) not yet been delivered (?:is|are):/i), 'delayed'),
  ];
  if (recipients.length === 0) return null;
  return { originalMessageId: quotedMessageId(original) ?? returnedMessageId(parts), source: 'mta_text', recipients };
}

/**
 * The line holding the remote server's reply (`550 5.1.1 …`, or a line with an enhanced status
 * code), with the lines continuing it, as a provider's notice quotes it.
 */
function quotedReply(notice: string): string | null {
  const lines = notice.split(/\r?\n/);
  const index = lines.findIndex((line) => /\b[45]\d\d[- ][245]\.\d{1,3}\.\d{1,3}\b/.test(line));
  const start = index !== -1 ? index : lines.findIndex((line) => ENHANCED_STATUS.test(line));
  if (start === -1) return null;
  const reply: string[] = [];
  for (const line of lines.slice(start)) {
    if (line.trim() === '') break;
    reply.push(line);
  }
  const text = collapse(reply.join(' '));
  const fromCode = /(?:['"(]\s*)?([45]\d\d[- ][245]\.\d{1,3}\.\d{1,3}\b.*)$/.exec(text);
  return (fromCode?.[1] ?? text).replace(/['")]+$/, '');
}

const DELAYED_NOTICE =
  /has not (yet )?been delivered|(delivery|message) (is |has been )?delayed|will (continue|keep) trying|still trying|will (be )?retr(y|ied)|could not send message for (the )?past|no action is required/i;

/**
 * A provider's notice in prose (Gmail, Outlook and others): the failed addresses are those the
 * notice names apart from the sender's and the daemon's own, the reason is the quoted server
 * reply, and the original's headers follow the notice or come attached.
 */
function proseReport(text: string, headers: Headers, parts: readonly MimePart[]): BounceReport | null {
  const { notice, original } = splitAtOriginal(text);
  const originalId = returnedMessageId(parts) ?? quotedMessageId(original) ?? inReplyToOf(headers);
  const reply = quotedReply(notice);
  if (!originalId || !reply) return null;
  const own = ownAddresses(headers);
  const named = addressesIn(notice).filter((address) => !own.has(address) && !DAEMON_SENDER.test(address));
  if (named.length === 0) return null;
  const action: DeliveryAction = DELAYED_NOTICE.test(notice) ? 'delayed' : 'failed';
  const status = enhancedStatus(reply);
  return {
    originalMessageId: originalId,
    source: 'prose',
    recipients: named.map((address) => recipientReport(address, action, status, reply)),
  };
}

/**
 * Worth a closer look: a multipart/report, or a message from a mail daemon or with a bounce's
 * subject. Everything else — nearly all mail — is passed over from its header fields alone.
 */
function mayBeBounce(headers: Headers): boolean {
  const from = firstValue(headers, 'from') ?? '';
  const subject = firstValue(headers, 'subject') ?? '';
  return (
    /^\s*multipart\/report\b/i.test(firstValue(headers, 'content-type') ?? '') ||
    addressesIn(from).some((address) => DAEMON_SENDER.test(address)) ||
    /mail delivery (system|subsystem)/i.test(from) ||
    BOUNCE_SUBJECT.test(subject)
  );
}

/**
 * The bounce or delay notice a message is, if it is one: an RFC 3464 multipart/report of
 * delivery status, or one of the common notices without it (qmail, Exim, providers' prose).
 * `text` is the decoded text body. Other reports (read receipts, RFC 8098) and ordinary mail give null.
 */
export function bounceReportOf(source: Buffer, headers: Headers, text: string | null): BounceReport | null {
  if (!mayBeBounce(headers)) return null;
  const root = mimePartOf(source);
  const parts = allParts(root);
  const report = parts.find((part) => part.type === 'multipart/report');
  if (report) {
    // Some servers leave report-type out; any other type (a read receipt, RFC 8098) is no bounce.
    const reportType = report.params['report-type']?.toLowerCase();
    if (reportType && reportType !== 'delivery-status' && reportType !== 'global-delivery-status') return null;
    // A report that only says "delivered" or "relayed" is no bounce, whatever its text says.
    const status = parts.find((part) => DELIVERY_STATUS_TYPES.has(part.type));
    if (status) return deliveryStatusReport(root, parts, status);
  }
  if (!text) return null;
  return eximReport(text, parts) ?? angleAddressReport(text, headers, parts) ?? proseReport(text, headers, parts);
}
