import { compile } from 'html-to-text';
import { simpleParser } from 'mailparser';
import type { AddressObject, Attachment, HeaderValue, ParsedMail } from 'mailparser';

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

function attachmentOf(attachment: Attachment): ParsedAttachment {
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
): Promise<{ parsed: ParsedMail; text: string | false | undefined }> {
  if (typeof contentType !== 'string' || !HTML_TYPE.test(contentType)) {
    const parsed = await simpleParser(source, MAILPARSER_OPTIONS);
    return { parsed, text: parsed.text };
  }
  const parsed = await simpleParser(source, { ...MAILPARSER_OPTIONS, skipHtmlToText: true });
  if (!isHtmlType(parsed.headers.get('content-type'))) {
    // mailparser read another structure than the header block announced: its conversion decides.
    const reparsed = await simpleParser(source, MAILPARSER_OPTIONS);
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

/** Decodes one message (any charset, RFC 2047/2231 words) with mailparser. */
export async function parseMessageSource(source: Buffer): Promise<ParsedMessage> {
  const headers = parseHeaderBlock(headerSection(source));
  const { parsed, text: decodedText } = await decode(source, headers['content-type']);
  const thread = threadHeaders(headers);
  const html = optionalText(parsed.html);
  const text = optionalText(decodedText) ?? (html ? optionalText(htmlToPlainText(html)) : null);
  // mailparser substitutes "now" for an unparseable Date header; only a header that parses counts.
  const date = headers.date !== undefined && parsed.date && !Number.isNaN(parsed.date.getTime()) ? parsed.date : null;
  return {
    subject: parsed.subject !== undefined ? withoutNul(parsed.subject) : null,
    messageId: parsed.messageId ? withoutNul(parsed.messageId) : null,
    inReplyTo: thread.inReplyTo,
    references: thread.references,
    from: addressesOf(parsed.from)[0] ?? null,
    to: addressesOf(parsed.to),
    cc: addressesOf(parsed.cc),
    bcc: addressesOf(parsed.bcc),
    replyTo: addressesOf(parsed.replyTo),
    date,
    text,
    html,
    snippet: snippetOf(text),
    headers,
    attachments: parsed.attachments.map(attachmentOf),
    bounce: bounceReportOf(source, headers, text),
  };
}

/** Never throws: a source mailparser rejects is reported, so the caller can keep the envelope instead. */
export async function tryParseMessageSource(source: Buffer): Promise<ParseOutcome> {
  try {
    return { ok: true, message: await parseMessageSource(source) };
  } catch (error: unknown) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
