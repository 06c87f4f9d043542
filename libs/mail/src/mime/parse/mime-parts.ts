import libmime from 'libmime';

import { parseHeaderBlock } from './header-block.js';

/** One MIME entity of a raw message: its header fields, its media type and its body as sent. */
export interface MimePart {
  headers: Record<string, string | string[]>;
  /** Lower-case `type/subtype`; `text/plain` when the entity names none (RFC 2045 section 5.2). */
  type: string;
  params: Record<string, string>;
  body: Buffer;
}

/** Nested multiparts deeper than this are not looked into: no report or bounce nests that far. */
const MAX_DEPTH = 4;

function firstHeader(headers: Record<string, string | string[]>, name: string): string | null {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

/** Splits an entity at the empty line that ends its header section; an entity may have no header fields at all. */
export function mimePartOf(raw: Buffer): MimePart {
  let headerEnd: number;
  let bodyStart: number;
  if (raw[0] === 0x0a || (raw[0] === 0x0d && raw[1] === 0x0a)) {
    headerEnd = 0;
    bodyStart = raw[0] === 0x0a ? 1 : 2;
  } else {
    const crlf = raw.indexOf('\r\n\r\n');
    const lf = raw.indexOf('\n\n');
    if (crlf === -1 && lf === -1) {
      headerEnd = raw.length;
      bodyStart = raw.length;
    } else if (lf === -1 || (crlf !== -1 && crlf < lf)) {
      headerEnd = crlf + 2;
      bodyStart = crlf + 4;
    } else {
      headerEnd = lf + 1;
      bodyStart = lf + 2;
    }
  }
  const headers = parseHeaderBlock(raw.subarray(0, headerEnd));
  const contentType = firstHeader(headers, 'content-type');
  const parsed = contentType ? libmime.parseHeaderValue(contentType) : null;
  const type = parsed?.value.trim().toLowerCase() || 'text/plain';
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed?.params ?? {})) params[key.toLowerCase()] = String(value);
  return { headers, type, params, body: raw.subarray(bodyStart) };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The body parts of a multipart entity (RFC 2046 section 5.1.1); none when it is not one or names no boundary. */
export function childParts(part: MimePart): MimePart[] {
  const boundary = part.params.boundary;
  if (!part.type.startsWith('multipart/') || !boundary) return [];
  // latin1 maps every byte to one character and back, so offsets found in the text are byte offsets.
  const text = part.body.toString('latin1');
  const delimiter = new RegExp(`(?:^|\\r?\\n)--${escapeRegExp(boundary)}(--)?[ \\t]*(?:\\r?\\n|$)`, 'g');
  const children: MimePart[] = [];
  let start: number | null = null;
  for (const match of text.matchAll(delimiter)) {
    if (start !== null) children.push(mimePartOf(part.body.subarray(start, match.index)));
    if (match[1]) return children;
    start = match.index + match[0].length;
  }
  if (start !== null && start < text.length) children.push(mimePartOf(part.body.subarray(start)));
  return children;
}

/** Every entity of the message, depth first, the message itself included. */
export function allParts(root: MimePart, depth = 0): MimePart[] {
  if (depth >= MAX_DEPTH) return [root];
  return [root, ...childParts(root).flatMap((child) => allParts(child, depth + 1))];
}

function decodeQuotedPrintable(text: string): Buffer {
  const joined = text.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let index = 0; index < joined.length; index += 1) {
    const hex = joined.slice(index + 1, index + 3);
    if (joined[index] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      index += 2;
    } else {
      bytes.push(joined.charCodeAt(index) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** The body with its Content-Transfer-Encoding undone. */
export function decodedBody(part: MimePart): Buffer {
  const encoding = firstHeader(part.headers, 'content-transfer-encoding')?.trim().toLowerCase();
  if (encoding === 'base64') return Buffer.from(part.body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(part.body.toString('latin1'));
  return part.body;
}
