import { pipeline, Transform } from 'node:stream';
import type { Readable } from 'node:stream';

import { ImapTimeoutError, MailServerConnectionError, MessagePartGoneError } from '../errors.js';
import { serverReason } from '../mail-server-settings.js';
import type { MailServerSettings } from '../mail-server-settings.js';
import type { ImapConnectionPool } from './imap-connection-pool.js';
import { withTimeout } from './imap-session.js';

/** Where one body part sits: the folder, the UIDVALIDITY its UID belongs to, the UID and the BODYSTRUCTURE section. */
export interface MessagePartLocation {
  folderPath: string;
  uidValidity: string;
  uid: number;
  /** Null for the whole message as the server holds it (RFC 822 source). */
  partId: string | null;
}

export interface PartDownload {
  /** The decoded bytes (base64 and quoted-printable removed), in the part's own charset. */
  content: Readable;
  /** The charset the part declares, for text parts. */
  charset: string | null;
}

/**
 * Streams one body part from the server through a pooled connection, decoding its transfer
 * encoding chunk by chunk (imapflow fetches 64 KiB windows and waits for the reader in between),
 * so memory stays flat whatever the part's size. The mailbox lock and the connection are given back
 * when the stream ends, fails or is destroyed by its reader. A server that stops answering while
 * the reader is waiting for bytes fails the stream after `timeoutMs`.
 */
export async function downloadMessagePart(
  pool: ImapConnectionPool,
  settings: MailServerSettings,
  location: MessagePartLocation,
  timeoutMs: number,
): Promise<PartDownload> {
  const lease = await pool.acquire(settings).catch((error: unknown) => {
    throw connectionFailure(error);
  });
  const client = lease.client;
  let lock: { release(): void } | null = null;
  const releaseAll = (): void => {
    lock?.release();
    lock = null;
    lease.release();
  };
  try {
    lock = await withTimeout(
      'mailbox lock',
      timeoutMs,
      client.getMailboxLock(location.folderPath, { readOnly: true, acquireTimeout: timeoutMs }),
      () => client.close(),
    );
    if (client.mailbox === false || client.mailbox.uidValidity.toString() !== location.uidValidity) {
      throw new MessagePartGoneError(`folder ${location.folderPath} was replaced on the server since the last sync`);
    }
    // decodeText=false: a text attachment is delivered as its bytes, not converted to UTF-8.
    const download = await withTimeout(
      'download',
      timeoutMs,
      client.download(String(location.uid), location.partId ?? undefined, { uid: true, decodeText: false }),
      () => client.close(),
    );
    if (!download.content)
      throw new MessagePartGoneError(
        `${location.partId === null ? 'message' : `part ${location.partId} of`} UID ${location.uid} is no longer in ${location.folderPath}`,
      );
    const content = watchedForStalls(download.content, timeoutMs, () => client.close());
    content.once('close', releaseAll);
    return { content, charset: download.meta.charset ?? null };
  } catch (error: unknown) {
    releaseAll();
    throw connectionFailure(error);
  }
}

/** A socket error (ECONNREFUSED, ECONNRESET, ETIMEDOUT, …) from the mail server becomes MailServerConnectionError; anything else stays as it is. */
export function connectionFailure(error: unknown): unknown {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string' && /^E[A-Z]+/u.test(error.code))
    return new MailServerConnectionError(serverReason(error));
  return error;
}

/**
 * The same bytes, failing with ImapTimeoutError when none arrive for `timeoutMs` although the
 * reader keeps up: then the server (not a slow reader, whose back pressure fills the buffers) has
 * stopped answering. Destroying the returned stream (a reader that went away) destroys the source,
 * which stops imapflow's chunk loop.
 */
function watchedForStalls(source: Readable, timeoutMs: number, closeConnection: () => void): Readable {
  let received = true;
  const output = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received = true;
      callback(null, chunk);
    },
  });
  pipeline(source, output, () => undefined);
  const timer = setInterval(() => {
    const readerIsBehind = output.readableLength >= output.readableHighWaterMark || output.writableNeedDrain;
    if (received || readerIsBehind) {
      received = false;
      return;
    }
    closeConnection();
    output.destroy(new ImapTimeoutError('download', timeoutMs));
  }, timeoutMs);
  timer.unref();
  output.once('close', () => clearInterval(timer));
  return output;
}
