import { Brackets } from 'typeorm';
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

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

/** The page of `limit` items out of `rows` fetched with one extra, whose presence means another page follows. */
export function pageOf<T>(rows: T[], limit: number, positionOf: (last: T) => KeysetPosition): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(positionOf(last)) : null };
}

/**
 * Pages rows of `alias` oldest first, by creation time and then id. Cursors carry JavaScript dates
 * (milliseconds) while PostgreSQL keeps microseconds, so rows are compared at the cursor's precision.
 */
export async function pageByCreation<T extends ObjectLiteral & { id: string; createdAt: Date }>(
  query: SelectQueryBuilder<T>,
  alias: string,
  limit: number,
  after: KeysetPosition | null,
): Promise<Page<T>> {
  const createdMs = `date_trunc('milliseconds', ${alias}.created_at)`;
  query
    .orderBy(createdMs, 'ASC')
    .addOrderBy(`${alias}.id`, 'ASC')
    .take(limit + 1);
  if (after) {
    query.andWhere(
      new Brackets((keyset) =>
        keyset
          .where(`${createdMs} > :at`, { at: after.at })
          .orWhere(`${createdMs} = :at AND ${alias}.id > :id`, { at: after.at, id: after.id }),
      ),
    );
  }
  return pageOf(await query.getMany(), limit, (last) => ({ at: last.createdAt.toISOString(), id: last.id }));
}
