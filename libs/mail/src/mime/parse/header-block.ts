/** Where the header section ends (RFC 5322 section 2.1: the first empty line), or the whole buffer. */
export function headerSection(source: Buffer): Buffer {
  const crlf = source.indexOf('\r\n\r\n');
  const lf = source.indexOf('\n\n');
  const ends = [crlf === -1 ? -1 : crlf + 2, lf === -1 ? -1 : lf + 1].filter((index) => index >= 0);
  return ends.length === 0 ? source : source.subarray(0, Math.min(...ends));
}

// PostgreSQL text and jsonb refuse NUL, which broken mail does contain.
export function withoutNul(text: string): string {
  return text.includes('\u0000') ? text.split('\u0000').join('') : text;
}

/**
 * Header fields keyed by lower-case name, values unfolded (RFC 5322 section 2.2.3) but otherwise
 * as sent; a repeated field becomes a list in order of appearance.
 */
export function parseHeaderBlock(block: Buffer): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  const lines = withoutNul(block.toString('utf8')).split(/\r?\n/);
  let current: string | null = null;
  const commit = (): void => {
    if (current === null) return;
    const colon = current.indexOf(':');
    if (colon > 0) {
      const key = current.slice(0, colon).trim().toLowerCase();
      const value = current.slice(colon + 1).trim();
      const existing = headers[key];
      if (existing === undefined) headers[key] = value;
      else headers[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
    }
    current = null;
  };
  for (const line of lines) {
    if (line === '') break;
    if (/^[ \t]/.test(line) && current !== null) current += ` ${line.trim()}`;
    else {
      commit();
      current = line;
    }
  }
  commit();
  return headers;
}

function firstValue(headers: Record<string, string | string[]>, key: string): string | null {
  const value = headers[key];
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}

/** Message-IDs of a References or In-Reply-To field, brackets kept (RFC 5322 section 3.6.4). */
export function messageIdsOf(value: string | null): string[] {
  if (!value) return [];
  return value.match(/<[^<>\s]+>/g) ?? [];
}

export interface ThreadHeaders {
  inReplyTo: string | null;
  references: string[];
}

export function threadHeaders(headers: Record<string, string | string[]>): ThreadHeaders {
  const inReplyTo = messageIdsOf(firstValue(headers, 'in-reply-to'))[0] ?? null;
  return { inReplyTo, references: messageIdsOf(firstValue(headers, 'references')) };
}

/**
 * The first `length` characters of the text with whitespace runs collapsed. Only a prefix is
 * collapsed (doubled until it holds enough), since bodies run to megabytes and a snippet is short.
 */
export function snippetOf(text: string | null, length = 200): string | null {
  if (!text) return null;
  for (let window = length * 4; ; window *= 2) {
    const whole = window >= text.length;
    // Collapsing a prefix gives a prefix of the whole text's collapsed form; two characters of
    // slack keep a whitespace run cut at the window's edge out of the result.
    const collapsed = (whole ? text : text.slice(0, window)).replace(/\s+/g, ' ').trimStart();
    if (whole) {
      const trimmed = collapsed.trimEnd();
      return trimmed === '' ? null : trimmed.slice(0, length);
    }
    if (collapsed.length >= length + 2) return collapsed.slice(0, length);
  }
}
