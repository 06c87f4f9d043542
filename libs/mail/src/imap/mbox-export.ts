import { Readable } from 'node:stream';

import { MessagePartGoneError } from '../errors.js';
import type { MailServerSettings } from '../mail-server-settings.js';
import type { ImapConnectionPool } from './imap-connection-pool.js';
import { withTimeout } from './imap-session.js';
import { connectionFailure } from './part-download.js';

/** Sources fetched per round trip, by their total size; a larger message comes alone. */
const BATCH_BYTES = 4 * 1024 * 1024;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export interface MboxFolder {
  path: string;
  /** The UIDVALIDITY the store knows, so an export never mixes in a replaced folder's messages unnoticed. */
  uidValidity: string;
}

/** asctime(3) in UTC, as the "From " line of an mbox wants it. */
function asctime(date: Date): string {
  const pad = (value: number): string => String(value).padStart(2, '0');
  return (
    `${WEEKDAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, ' ')} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ${date.getUTCFullYear()}`
  );
}

const LF = 0x0a;
const CR = 0x0d;
const GT = 0x3e;
const FROM_SPACE = Buffer.from('From ', 'latin1');

/** Whether source[start, end) is a line an mbox reader would take for a separator once its ">"s are gone. */
function isFromLine(source: Buffer, start: number, end: number): boolean {
  let at = start;
  while (at < end && source[at] === GT) at += 1;
  return (
    end - at >= FROM_SPACE.length && source.compare(FROM_SPACE, 0, FROM_SPACE.length, at, at + FROM_SPACE.length) === 0
  );
}

/**
 * One message as an mboxrd entry: the "From " separator line, the source with LF line ends and
 * every line that starts with ">"s then "From " given one more ">", and a blank line. Bytes are
 * copied as they are (any charset), once, into a buffer sized in a first pass.
 */
export function mboxrdEntry(source: Buffer, sender: string | null, receivedAt: Date): Buffer {
  const envelopeSender = sender && /^\S+$/u.test(sender) ? sender : 'MAILER-DAEMON';
  const separator = Buffer.from(`From ${envelopeSender} ${asctime(receivedAt)}\n`, 'latin1');
  const lines: { start: number; end: number; quoted: boolean }[] = [];
  let length = separator.length + 1;
  for (let start = 0; start < source.length;) {
    const newline = source.indexOf(LF, start);
    const next = newline === -1 ? source.length : newline + 1;
    let end = newline === -1 ? source.length : newline;
    if (end > start && source[end - 1] === CR) end -= 1;
    const quoted = isFromLine(source, start, end);
    lines.push({ start, end, quoted });
    length += end - start + 1 + (quoted ? 1 : 0);
    start = next;
  }
  const entry = Buffer.allocUnsafe(length);
  let at = separator.copy(entry, 0);
  for (const line of lines) {
    if (line.quoted) entry[at++] = GT;
    at += source.copy(entry, at, line.start, line.end);
    entry[at++] = LF;
  }
  entry[at] = LF;
  return entry;
}

/**
 * A whole folder as an mboxrd stream, read from the server a few megabytes at a time and only as
 * fast as the reader takes it, so memory stays flat whatever the folder's size. The folder is
 * opened before this resolves, so a refused login or a replaced folder is an error, not a
 * truncated stream; the pooled connection and the mailbox lock are held until the stream ends or
 * is destroyed.
 */
export async function exportMbox(
  pool: ImapConnectionPool,
  settings: MailServerSettings,
  folder: MboxFolder,
  timeoutMs: number,
): Promise<Readable> {
  const lease = await pool.acquire(settings).catch((error: unknown) => {
    throw connectionFailure(error);
  });
  const client = lease.client;
  let lock: { release(): void } | null = null;
  let released = false;
  const releaseAll = (): void => {
    if (released) return;
    released = true;
    lock?.release();
    lock = null;
    lease.release();
  };
  const sizes: { uid: number; size: number }[] = [];
  try {
    lock = await withTimeout(
      'mailbox lock',
      timeoutMs,
      client.getMailboxLock(folder.path, { readOnly: true, acquireTimeout: timeoutMs }),
      () => client.close(),
    );
    if (client.mailbox === false || client.mailbox.uidValidity.toString() !== folder.uidValidity)
      throw new MessagePartGoneError(`folder ${folder.path} was replaced on the server since the last sync`);
    if (client.mailbox.exists > 0) {
      const listing = await withTimeout(
        'fetch sizes',
        timeoutMs,
        client.fetchAll('1:*', { uid: true, size: true }),
        () => client.close(),
      );
      for (const message of listing) sizes.push({ uid: message.uid, size: message.size ?? 0 });
    }
  } catch (error: unknown) {
    releaseAll();
    throw connectionFailure(error);
  }
  sizes.sort((a, b) => a.uid - b.uid);

  async function* entries(): AsyncGenerator<Buffer> {
    for (let start = 0; start < sizes.length;) {
      let end = start + 1;
      let bytes = sizes[start]?.size ?? 0;
      while (end < sizes.length && bytes + (sizes[end]?.size ?? 0) <= BATCH_BYTES) bytes += sizes[end++]?.size ?? 0;
      const uids = sizes.slice(start, end).map((entry) => entry.uid);
      const batch = await withTimeout(
        'fetch sources',
        timeoutMs,
        client.fetchAll(uids.join(','), { uid: true, source: true, envelope: true, internalDate: true }, { uid: true }),
        () => client.close(),
      );
      batch.sort((a, b) => a.uid - b.uid);
      for (const message of batch) {
        if (!message.source) continue;
        const internalDate = message.internalDate ? new Date(message.internalDate) : new Date(0);
        yield mboxrdEntry(message.source, message.envelope?.from?.[0]?.address ?? null, internalDate);
      }
      start = end;
    }
  }
  const stream = Readable.from(entries(), { objectMode: false });
  // On 'close', not in the generator: a stream destroyed before its first read never runs it.
  stream.once('close', releaseAll);
  return stream;
}
