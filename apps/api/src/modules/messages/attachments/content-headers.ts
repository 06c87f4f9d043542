/** RFC 2045 token characters: what a media type and its subtype may consist of. */
const MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/iu;
const CHARSET = /^[a-z0-9!#$&^_.+-]+$/iu;
const FALLBACK_NAME = 'attachment';

/**
 * The stored media type when it is well formed (it comes from the sender's MIME headers, so it
 * is never copied into a header unchecked), with the part's charset for text; else octet-stream.
 */
export function attachmentContentType(stored: string, charset: string | null): string {
  const type = stored.trim().toLowerCase();
  if (!MEDIA_TYPE.test(type)) return 'application/octet-stream';
  return type.startsWith('text/') && charset && CHARSET.test(charset)
    ? `${type}; charset=${charset.toLowerCase()}`
    : type;
}

/** C0 and C1 controls and DEL: CR/LF among them would split the header. */
function isControl(character: string): boolean {
  const code = character.codePointAt(0) ?? 0;
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/** A file name without control characters or path separators: it is a name, never a path. */
function safeFilename(filename: string | null): string {
  const cleaned = [...(filename ?? '')]
    .filter((character) => !isControl(character))
    .join('')
    .replace(/[/\\]/gu, '_')
    .trim();
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? FALLBACK_NAME : cleaned;
}

/** RFC 8187 attr-char: everything else in `filename*` is percent-encoded UTF-8. */
function encodeExtValue(value: string): string {
  return encodeURIComponent(value).replace(
    /['()*]/gu,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * `attachment` (never `inline`: an HTML or SVG attachment rendered on the API's origin could run
 * script), with an ASCII `filename` for old clients and `filename*` carrying the real name in
 * UTF-8 (RFC 6266 section 4.3). Accents are stripped for the fallback rather than dropped whole;
 * `%` is avoided there because some clients percent-decode plain `filename`.
 */
export function attachmentDisposition(filename: string | null): string {
  const name = safeFilename(filename);
  const ascii = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/gu, '')
    .replace(/[^\u0020-\u007e]|%/gu, '_')
    .replace(/["\\]/gu, (character) => `\\${character}`);
  const fallback = `attachment; filename="${ascii}"`;
  return ascii === name ? fallback : `${fallback}; filename*=UTF-8''${encodeExtValue(name)}`;
}
