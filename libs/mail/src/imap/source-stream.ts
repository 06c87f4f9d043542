import type { ImapFlow } from 'imapflow';

import type { SourceStreamOpener } from '../mime/parse/mime-parser-pool.js';
import { withTimeout } from './imap-session.js';

/**
 * Bytes per FETCH of a streamed source: round trips stop dominating well below this on a fast
 * link, and a parse holds only a few such chunks at a time.
 */
const SOURCE_CHUNK_BYTES = 256 * 1024;

/**
 * A message's raw source in the client's selected folder, read in partial FETCHes as the parser
 * takes it (imapflow's download waits for its reader between chunks).
 */
export function sourceStreamOf(client: ImapFlow, uid: number | string, timeoutMs: number): SourceStreamOpener {
  return async () => {
    const download = await withTimeout(
      'fetch',
      timeoutMs,
      client.download(String(uid), undefined, { uid: true, chunkSize: SOURCE_CHUNK_BYTES }),
      () => client.close(),
    );
    return download.content ?? null;
  };
}
