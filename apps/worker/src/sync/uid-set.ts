/** A sorted UID list as an IMAP sequence set (RFC 3501 section 9, sequence-set): runs become ranges. */
export function toUidSet(uids: readonly number[]): string {
  const sorted = [...uids].sort((a, b) => a - b);
  const parts: string[] = [];
  let start = sorted[0];
  let end = start;
  for (const uid of sorted.slice(1)) {
    if (end !== undefined && uid === end + 1) {
      end = uid;
      continue;
    }
    if (start !== undefined && end !== undefined) parts.push(start === end ? `${start}` : `${start}:${end}`);
    start = uid;
    end = uid;
  }
  if (start !== undefined && end !== undefined) parts.push(start === end ? `${start}` : `${start}:${end}`);
  return parts.join(',');
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let index = 0; index < items.length; index += size) chunks.push(items.slice(index, index + size));
  return chunks;
}

/**
 * Splits messages into groups whose sources together stay under `maxBytes` (one oversized message
 * forms a group alone) and that hold at most `maxCount` messages: what bounds the sync's memory.
 */
export function groupBySize<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
  maxBytes: number,
  maxCount: number,
): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (bytes + size > maxBytes || current.length >= maxCount)) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** Chunks of `first` items, then twice as many each time, up to `max`. */
export function growingChunks<T>(items: readonly T[], first: number, max: number): T[][] {
  const chunks: T[][] = [];
  let size = first;
  for (let index = 0; index < items.length; index += size, size = Math.min(max, size * 2))
    chunks.push(items.slice(index, index + size));
  return chunks;
}

/**
 * Every UID in none of the ascending, disjoint `stored` ranges, as a UID set ending in "n:*"
 * (RFC 3501 section 9): the gaps a killed run left and whatever arrived above the last range.
 */
export function missingUidSet(stored: readonly { first: number; last: number }[]): string {
  const parts: string[] = [];
  let next = 1;
  for (const range of stored) {
    if (range.first > next) parts.push(range.first - 1 === next ? `${next}` : `${next}:${range.first - 1}`);
    next = Math.max(next, range.last + 1);
  }
  parts.push(`${next}:*`);
  return parts.join(',');
}
