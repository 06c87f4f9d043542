/**
 * A structured message filter: what a search query means, independent of its syntax. The API
 * parses user text into this tree; the read repository compiles it to SQL with bound parameters.
 */
export type AddressField = 'from' | 'to' | 'cc';

export type MessageFilter =
  | { kind: 'and'; children: MessageFilter[] }
  | { kind: 'or'; children: MessageFilter[] }
  | { kind: 'not'; child: MessageFilter }
  /** Free words (all must occur) or, with `phrase`, words in this order, anywhere in subject, addresses or body. */
  | { kind: 'text'; value: string; phrase: boolean }
  | { kind: 'subject'; value: string; phrase: boolean }
  /** Substring of the names and addresses of that field, case- and accent-insensitive. */
  | { kind: 'address'; field: AddressField; value: string }
  | { kind: 'hasAttachment' }
  | { kind: 'flag'; flag: 'seen' | 'flagged'; present: boolean }
  /** A folder path (case-insensitive) or a special-use role such as `inbox` or `sent`. */
  | { kind: 'folder'; value: string }
  /** A folder with this special-use role only (RFC 6154, lower case: `all`, `inbox` …), whatever its path. */
  | { kind: 'folderRole'; role: string }
  /** `date` is YYYY-MM-DD, a UTC day: `after` includes it, `before` excludes it. */
  | { kind: 'date'; bound: 'before' | 'after'; date: string };
