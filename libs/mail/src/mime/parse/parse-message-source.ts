import { compile } from 'html-to-text';
import { MailParser } from 'mailparser';
import type { AddressObject, AttachmentCommon, HeaderValue, Headers, MailParserOptions } from 'mailparser';

import { bounceReportOf } from './bounce-report.js';
import { headerSection, parseHeaderBlock, snippetOf, threadHeaders, withoutNul } from './header-block.js';
import type { ParsedAddress, ParsedAttachment, ParsedMessage, ParseOutcome } from './parsed-message.js';

/** HTML beyond this is stored but not converted to text: html-to-text is quadratic on some inputs. */
const MAX_HTML_TO_TEXT = 2 * 1024 * 1024;

function addressesOf(field: AddressObject | AddressObject[] | undefined): ParsedAddress[] {
  if (!field) return [];
  const objects = Array.isArray(field) ? field : [field];
  const flattened: ParsedAddress[] = [];
  const visit = (entries: AddressObject['value']): void => {
    for (const entry of entries) {
      if (entry.group) visit(entry.group);
      else if (entry.address || entry.name)
        flattened.push({ name: withoutNul(entry.name ?? ''), address: withoutNul(entry.address ?? '') });
    }
  };
  for (const object of objects) visit(object.value);
  return flattened;
}

/** Bytes of a source handed to mailparser per write. */
const WRITE_SLICE = 64 * 1024;

/** An attachment as stored: what it is and how large, never its bytes. */
type CountedAttachment = AttachmentCommon & { size: number };

/** What this service keeps of mailparser's result: simpleParser's, minus attachment contents. */
interface DecodedMail {
  headers: Headers;
  text?: string;
  html?: string;
  attachments: CountedAttachment[];
}

/**
 * mailparser's streaming parser, read the way simpleParser reads it, except that an attachment's
 * content is counted as it passes instead of collected: simpleParser buffers every attachment
 * (and copies it once more to join its chunks), which made a 10 MB attachment cost over 20 MB
 * while parsing only to report its size. The caller writes the source into `parser` and ends it.
 */
function startDecoding(options: MailParserOptions): { parser: MailParser; decoded: Promise<DecodedMail> } {
  const parser = new MailParser(options);
  const decoded = new Promise<DecodedMail>((resolve, reject) => {
    const mail: DecodedMail = { headers: new Map(), attachments: [] };
    let settled = false;
    const settle = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve(mail);
    };
    parser.on('error', (error: Error) => settle(error));
    parser.on('headers', (headers: Headers) => {
      mail.headers = headers;
    });
    let reading = false;
    const read = (): void => {
      reading = true;
      for (;;) {
        const data = parser.read();
        if (data === null) {
          reading = false;
          return;
        }
        if (data.type === 'text') {
          mail.text = data.text;
          mail.html = data.html;
          continue;
        }
        const { content, release, checksum: _checksum, size: _size, ...described } = data;
        let size = 0;
        content.on('data', (chunk: Buffer) => {
          size += chunk.length;
        });
        content.on('end', () => {
          mail.attachments.push({ ...described, size });
          release?.();
          read();
        });
        return;
      }
    };
    parser.on('readable', () => {
      if (!reading) read();
    });
    parser.on('end', () => settle(null));
  });
  return { parser, decoded };
}

async function decodeMail(source: Buffer, options: MailParserOptions): Promise<DecodedMail> {
  const { parser, decoded } = startDecoding(options);
  // In slices: handed a large source in one write, mailparser's line splitter copies and keeps
  // far more of it while parsing than when it arrives as a stream would deliver it.
  for (let offset = 0; offset < source.length; offset += WRITE_SLICE)
    parser.write(source.subarray(offset, offset + WRITE_SLICE));
  parser.end();
  return decoded;
}

/** mailparser keeps an address header as one AddressObject, or one per occurrence of the header. */
function addressHeader(value: HeaderValue | undefined): AddressObject | AddressObject[] | undefined {
  const isAddressObject = (candidate: unknown): candidate is AddressObject =>
    typeof candidate === 'object' && candidate !== null && 'value' in candidate && Array.isArray(candidate.value);
  if (Array.isArray(value)) return value.every(isAddressObject) ? value : undefined;
  return isAddressObject(value) ? value : undefined;
}

function attachmentOf(attachment: CountedAttachment): ParsedAttachment {
  return {
    partId: attachment.partId,
    filename: attachment.filename ? withoutNul(attachment.filename) : null,
    contentType: attachment.contentType,
    size: attachment.size,
    contentId: attachment.contentId ?? null,
    inline: attachment.contentDisposition === 'inline' || attachment.related === true,
  };
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * mailparser leaves `text` unset for some HTML-only structures (an HTML part inside
 * multipart/related); the search index and snippet still need words, so tags are stripped.
 */
export function htmlToPlainText(html: string): string {
  return html
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<(br|\/p|\/div|\/li|\/tr|\/h[1-6])\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity: string, name: string) => {
      if (name.startsWith('#x') || name.startsWith('#X'))
        return String.fromCodePoint(parseInt(name.slice(2), 16) || 32);
      if (name.startsWith('#')) return String.fromCodePoint(parseInt(name.slice(1), 10) || 32);
      return ENTITIES[name.toLowerCase()] ?? entity;
    })
    .replace(/[ \t]+/g, ' ')
    .replace(/\s*\n\s*/g, '\n')
    .trim();
}

function optionalText(value: string | false | undefined): string | null {
  return typeof value === 'string' && value !== '' ? withoutNul(value) : null;
}

const MAILPARSER_OPTIONS = {
  keepCidLinks: true,
  skipImageLinks: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  checksumAlgo: false,
  maxHtmlLengthToParse: MAX_HTML_TO_TEXT,
} as const;

/**
 * The HTML-to-text conversion mailparser applies (its options, and html-to-text is the same
 * package), compiled once: mailparser compiles it anew for every message, which costs more than
 * converting a typical one.
 */
const convertHtml = compile({ limits: { maxDepth: 1000 } });

const HTML_TYPE = /^\s*text\/html\s*(;|$)/i;

function isHtmlType(value: HeaderValue | undefined): boolean {
  return (
    typeof value === 'object' && 'value' in value && typeof value.value === 'string' && HTML_TYPE.test(value.value)
  );
}

/**
 * mailparser's result and text body. A single-part HTML message is the one whose whole text
 * mailparser converts from the HTML; its text comes from the compiled converter instead, the same
 * text but for HTML nested deeper than 1,000 elements, which mailparser leaves unconverted and the
 * converter cuts at that depth. Multipart messages convert rarely and keep mailparser's own path.
 */
async function decode(
  source: Buffer,
  contentType: string | string[] | undefined,
): Promise<{ parsed: DecodedMail; text: string | undefined }> {
  if (typeof contentType !== 'string' || !HTML_TYPE.test(contentType)) {
    const parsed = await decodeMail(source, MAILPARSER_OPTIONS);
    return { parsed, text: parsed.text };
  }
  const parsed = await decodeMail(source, { ...MAILPARSER_OPTIONS, skipHtmlToText: true });
  if (!isHtmlType(parsed.headers.get('content-type'))) {
    // mailparser read another structure than the header block announced: its conversion decides.
    const reparsed = await decodeMail(source, MAILPARSER_OPTIONS);
    return { parsed: reparsed, text: reparsed.text };
  }
  // Where it skips a conversion mailparser leaves an empty text, as it does for HTML too long to convert.
  if (parsed.text !== '' || typeof parsed.html !== 'string' || parsed.html.length > MAX_HTML_TO_TEXT)
    return { parsed, text: parsed.text };
  try {
    return { parsed, text: convertHtml(parsed.html) };
  } catch {
    return { parsed, text: '' };
  }
}

/**
 * The stored form of a decoded message. `bounceSource` is what the bounce report is read from:
 * the source, or its first bytes when it was streamed.
 */
function parsedMessageOf(
  headers: Record<string, string | string[]>,
  parsed: DecodedMail,
  decodedText: string | undefined,
  bounceSource: Buffer,
): ParsedMessage {
  const thread = threadHeaders(headers);
  const html = optionalText(parsed.html);
  const text = optionalText(decodedText) ?? (html ? optionalText(htmlToPlainText(html)) : null);
  const subject = parsed.headers.get('subject');
  const messageId = parsed.headers.get('message-id');
  const parsedDate = parsed.headers.get('date');
  // mailparser substitutes "now" for an unparseable Date header; only a header that parses counts.
  const date =
    headers.date !== undefined && parsedDate instanceof Date && !Number.isNaN(parsedDate.getTime()) ? parsedDate : null;
  const addresses = (key: string): ParsedAddress[] => addressesOf(addressHeader(parsed.headers.get(key)));
  return {
    subject: typeof subject === 'string' ? withoutNul(subject) : null,
    messageId: typeof messageId === 'string' && messageId !== '' ? withoutNul(messageId) : null,
    inReplyTo: thread.inReplyTo,
    references: thread.references,
    from: addresses('from')[0] ?? null,
    to: addresses('to'),
    cc: addresses('cc'),
    bcc: addresses('bcc'),
    replyTo: addresses('reply-to'),
    date,
    text,
    html,
    snippet: snippetOf(text),
    headers,
    attachments: parsed.attachments.map(attachmentOf),
    bounce: bounceReportOf(bounceSource, headers, text),
  };
}

/** Decodes one message (any charset, RFC 2047/2231 words) with mailparser. */
export async function parseMessageSource(source: Buffer): Promise<ParsedMessage> {
  const headers = parseHeaderBlock(headerSection(source));
  const { parsed, text } = await decode(source, headers['content-type']);
  return parsedMessageOf(headers, parsed, text, source);
}

/** Never throws: a source mailparser rejects is reported, so the caller can keep the envelope instead. */
export async function tryParseMessageSource(source: Buffer): Promise<ParseOutcome> {
  try {
    return { ok: true, message: await parseMessageSource(source) };
  } catch (error: unknown) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Source bytes a streamed parse keeps: its header block and, for a delivery notice, the report
 * parts, which come before the returned message (RFC 3464 section 2).
 */
const STREAM_PREFIX_BYTES = 1024 * 1024;

/**
 * One message parsed as its source arrives, so a large message is never held whole: only its
 * first STREAM_PREFIX_BYTES are kept, and attachments are counted as they pass. The result is
 * parseMessageSource's, except that a single-part HTML message's text comes from mailparser's
 * own conversion (the header block that would choose the faster converter is not read yet when
 * parsing starts), and a delivery notice is read from the kept prefix.
 */
export class StreamedMessageParse {
  private readonly prefix: Buffer[] = [];
  private prefixBytes = 0;
  private readonly parser: MailParser;
  private readonly decoded: Promise<DecodedMail>;
  private failure: Error | null = null;

  constructor() {
    ({ parser: this.parser, decoded: this.decoded } = startDecoding(MAILPARSER_OPTIONS));
    // Rejections are observed by end().
    this.decoded.catch((error: unknown) => {
      this.failure = error instanceof Error ? error : new Error(String(error));
    });
  }

  /** Resolves once mailparser can take more; a source it rejects is reported by end(), not here. */
  async write(chunk: Buffer): Promise<void> {
    if (this.failure) return;
    if (this.prefixBytes < STREAM_PREFIX_BYTES) {
      const kept = chunk.subarray(0, STREAM_PREFIX_BYTES - this.prefixBytes);
      // A copy: the chunk's memory is released with the chunk, the prefix is kept to the end.
      this.prefix.push(Buffer.from(kept));
      this.prefixBytes += kept.length;
    }
    for (let offset = 0; offset < chunk.length && !this.failure; offset += WRITE_SLICE) {
      if (this.parser.write(chunk.subarray(offset, offset + WRITE_SLICE))) continue;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.parser.off('drain', done).off('error', done).off('close', done);
          resolve();
        };
        this.parser.on('drain', done).on('error', done).on('close', done);
      });
    }
  }

  /** Never throws, as tryParseMessageSource. */
  async end(): Promise<ParseOutcome> {
    if (!this.failure) this.parser.end();
    try {
      const parsed = await this.decoded;
      const source = Buffer.concat(this.prefix);
      const message = parsedMessageOf(parseHeaderBlock(headerSection(source)), parsed, parsed.text, source);
      return { ok: true, message };
    } catch (error: unknown) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }
}
