import { InvalidCursorError } from '../errors.js';

/**
 * Opaque cursors for keyset pagination: the sort key and id of the last item of a page, encoded
 * so clients treat them as tokens. A cursor that does not decode is rejected, not ignored.
 */
export interface KeysetPosition {
  at: string;
  id: string;
}

export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

export function decodeCursor(cursor: string): KeysetPosition {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(decoded) &&
      decoded.length === 2 &&
      typeof decoded[0] === 'string' &&
      typeof decoded[1] === 'string'
    ) {
      if (!Number.isNaN(Date.parse(decoded[0])) && /^[0-9a-f-]{36}$/i.test(decoded[1]))
        return { at: decoded[0], id: decoded[1] };
    }
  } catch {
    // fall through: malformed base64 or JSON is the same client error as a malformed value
  }
  throw new InvalidCursorError();
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
