import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';

import { Dicer } from '@fastify/busboy';
import libmime from 'libmime';

/** A line break ends a header line: in a part header value it can only have come from the client. */
const LINE_BREAK = /[\r\n]/;
/** C0 controls and DEL. Raw header text is Latin-1, where UTF-8 bytes may look like C1 controls, so those are left alone. */
const DECODED_CONTROL_CHARACTER = /(?![\u0080-\u009f])\p{Cc}/u;

/** An RFC 2231 / RFC 5987 parameter declared UTF-8 (`filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`): its percent-encoded value. */
const UTF8_EXTENDED_PARAMETER = /([\w!#$&+.^`|~-]+)\*\s*=\s*utf-8'[^']*'([^;\s]*)/giu;

/** A part the upload must be refused for, counted from 1 in the order of the body. */
export interface PartHeaderProblem {
  position: number;
  problem: string;
}

/** The part of Dicer's header parser this reading hooks into; checked at construction, so a change of the library fails loudly. */
interface HeaderBlockParser {
  /** The header block of the current part, as received (Latin-1), without its closing empty line. */
  buffer: string;
  _parseHeader(): void;
}

/**
 * Reads the header of every part of a multipart body alongside @fastify/multipart. Busboy drops,
 * without a word, a part whose name or filename decodes to a line break (`filename*=UTF-8''a%0D%0A`)
 * or that is not form-data, and its header parser stops at the first line holding a bare CR or LF
 * and forgets that line and every line after it: a filename or Content-Type broken by a line
 * break is cut short or lost, and the file is stored under what is left. The parts handed over
 * cannot tell, so this second reading of the same bytes sees every part's header block as sent,
 * and notes the first part whose Content-Disposition or Content-Type would carry a line break or
 * another control character into the message. Part bodies are discarded as they stream past.
 */
export class MultipartPartHeaders {
  private firstProblem: PartHeaderProblem | null = null;
  private readonly finished: Promise<void>;

  /**
   * Call in the same tick as @fastify/multipart starts reading `request`: a stream starts flowing
   * on the next tick, so both readers receive every chunk, and the slower one holds back both.
   */
  constructor(request: IncomingMessage, boundary: string) {
    const parser = new Dicer({ boundary });
    let rawHeader = '';
    watchHeaderBlocks(parser, (block) => {
      rawHeader = block;
    });
    let position = 0;
    parser.on('part', (part) => {
      const partPosition = ++position;
      rawHeader = '';
      part.on('header', (header: Record<string, string[] | undefined>) =>
        this.note(partPosition, rawHeaderProblem(rawHeader) ?? headerProblem(header)),
      );
      part.on('error', () => undefined);
      part.resume();
    });
    // A malformed or aborted body is reported by @fastify/multipart; this reading only stops.
    this.finished = new Promise((resolve) => parser.on('finish', resolve).on('error', () => resolve()));
    const endOfBody = (): void => {
      if (!parser.writableEnded) parser.end();
    };
    request.pipe(parser);
    request.on('close', endOfBody).on('error', endOfBody);
  }

  /** The boundary of a multipart Content-Type header, null when it names none. */
  static boundaryOf(contentType: string | undefined): string | null {
    const boundary = contentType ? libmime.parseHeaderValue(contentType).params.boundary : undefined;
    return boundary && boundary.length > 0 ? boundary : null;
  }

  /** The first problem, once the whole body has been read. */
  async problem(): Promise<PartHeaderProblem | null> {
    await this.finished;
    return this.firstProblem;
  }

  private note(position: number, problem: string | null): void {
    if (problem !== null && this.firstProblem === null) this.firstProblem = { position, problem };
  }
}

/** Dicer hands over a header only as far as it could parse it, so the block is taken as received. */
function watchHeaderBlocks(parser: Dicer, onBlock: (block: string) => void): void {
  const headerParser = (parser as unknown as { _hparser?: Partial<HeaderBlockParser> })._hparser;
  const parseHeader = headerParser?._parseHeader;
  if (!headerParser || typeof parseHeader !== 'function' || typeof headerParser.buffer !== 'string') {
    throw new Error('@fastify/busboy no longer exposes the header block of a part');
  }
  headerParser._parseHeader = function (this: HeaderBlockParser): void {
    onBlock(this.buffer);
    parseHeader.call(this);
  };
}

/**
 * A line of the block holding a lone CR or LF, or no header at all, is what the parser would drop.
 * Bytes that are not UTF-8, raw or percent-encoded in a UTF-8 parameter (how an unpaired
 * surrogate would be written), the parser would turn into U+FFFD: such a name is refused instead.
 */
function rawHeaderProblem(block: string): string | null {
  if (!isUtf8(Buffer.from(block, 'latin1'))) return 'its header is not valid UTF-8';
  for (const [, parameter, value] of block.matchAll(UTF8_EXTENDED_PARAMETER)) {
    if (!isUtf8(percentDecoded(value ?? '')))
      return `its ${parameter ?? 'parameter'} is not valid UTF-8 (an unpaired surrogate?)`;
  }
  for (const line of block.split('\r\n')) {
    if (line.length === 0) continue;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, Math.min(colon, 80)).trim() : null;
    if (LINE_BREAK.test(line)) return `its ${name ?? 'header'} header holds a line break`;
    if (name === null && !/^[ \t]/.test(line))
      return 'its header holds a line that is not a header (a line break inside a value?)';
  }
  return null;
}

/** The values as decoded (RFC 2231 parameters included), which is how they would reach the message. */
function headerProblem(header: Record<string, string[] | undefined>): string | null {
  const disposition = header['content-disposition']?.[0];
  if (disposition === undefined) return 'it has no Content-Disposition header';
  const contentType = header['content-type']?.[0];
  for (const [name, value] of [
    ['Content-Disposition', disposition],
    ['Content-Type', contentType],
  ] as const) {
    // What a CRLF inside a quoted filename leaves behind: the value cut off, the rest on a line of its own.
    if (value !== undefined && hasUnclosedQuote(value))
      return `its ${name} has a quoted value that is never closed (a line break inside it?)`;
  }
  const parsed = libmime.parseHeaderValue(disposition);
  if (parsed.value.toLowerCase() !== 'form-data') return `its Content-Disposition is "${parsed.value}", not form-data`;
  for (const [parameter, value] of Object.entries(parsed.params)) {
    if (DECODED_CONTROL_CHARACTER.test(value))
      return `its ${parameter} holds a line break or another control character`;
  }
  if (contentType !== undefined) {
    const type = libmime.parseHeaderValue(contentType);
    if ([type.value, ...Object.values(type.params)].some((value) => DECODED_CONTROL_CHARACTER.test(value))) {
      return 'its Content-Type holds a line break or another control character';
    }
  }
  return null;
}

/** RFC 5322 quoted-string: a backslash escapes the next character. */
function hasUnclosedQuote(value: string): boolean {
  let quoted = false;
  for (let index = 0; index < value.length; index += 1) {
    if (quoted && value[index] === '\\') index += 1;
    else if (value[index] === '"') quoted = !quoted;
  }
  return quoted;
}

/** The bytes a percent-encoded value stands for; a `%` without two hex digits stays as it is. */
function percentDecoded(value: string): Buffer {
  const bytes: number[] = [];
  for (let index = 0; index < value.length; index += 1) {
    const hex = value.slice(index + 1, index + 3);
    if (value[index] === '%' && /^[0-9a-f]{2}$/iu.test(hex)) {
      bytes.push(parseInt(hex, 16));
      index += 2;
    } else {
      bytes.push(value.charCodeAt(index) & 0xff);
    }
  }
  return Buffer.from(bytes);
}
