import { Readable, Transform } from 'node:stream';

import { MessagePartGoneError } from '../errors.js';
import type { MailServerSettings } from '../mail-server-settings.js';
import type { ImapConnectionPool } from './imap-connection-pool.js';
import { withTimeout } from './imap-session.js';
import { connectionFailure } from './part-download.js';

/** Messages whose envelope and arrival time are asked for in one round trip. */
const METADATA_BATCH = 200;
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

/** The line that opens an entry: the envelope sender and the time the message arrived. */
export function mboxSeparator(sender: string | null, receivedAt: Date): Buffer {
  const envelopeSender = sender && /^\S+$/u.test(sender) ? sender : 'MAILER-DAEMON';
  return Buffer.from(`From ${envelopeSender} ${asctime(receivedAt)}\n`, 'latin1');
}

/** `line` (without its end) as an mboxrd entry writes it: LF-terminated, one more ">" if it is a From line. */
function quotedLine(line: Buffer): Buffer {
  const end = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
  const quoted = isFromLine(line, 0, end);
  const out = Buffer.allocUnsafe(end + 1 + (quoted ? 1 : 0));
  let at = 0;
  if (quoted) out[at++] = GT;
  at += line.copy(out, at, 0, end);
  out[at] = LF;
  return out;
}

/**
 * A message source on its way into an mboxrd file, chunk by chunk: LF line ends, every line that
 * starts with ">"s then "From " given one more ">", a last line without its end completed. Only a
 * line cut by a chunk's end is held back, so memory does not grow with the message.
 */
export function mboxrdQuoting(): Transform {
  let carry: Buffer = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      const lines: Buffer[] = [];
      let start = 0;
      for (let newline = data.indexOf(LF, start); newline !== -1; newline = data.indexOf(LF, start)) {
        lines.push(quotedLine(data.subarray(start, newline)));
        start = newline + 1;
      }
      carry = Buffer.from(data.subarray(start));
      callback(null, lines.length > 0 ? Buffer.concat(lines) : undefined);
    },
    flush(callback) {
      callback(null, carry.length > 0 ? quotedLine(carry) : undefined);
    },
  });
}

/**
 * A whole folder as an mboxrd stream, each message downloaded in imapflow's windows and only as
 * fast as the reader takes it, so memory stays flat whatever the folder's or a message's size. The folder is
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
  let uids: number[] = [];
  try {
    lock = await withTimeout(
      'mailbox lock',
      timeoutMs,
      client.getMailboxLock(folder.path, { readOnly: true, acquireTimeout: timeoutMs }),
      () => client.close(),
    );
    if (client.mailbox === false || client.mailbox.uidValidity.toString() !== folder.uidValidity)
      throw new MessagePartGoneError(`folder ${folder.path} was replaced on the server since the last sync`);
    if (client.mailbox.exists > 0)
      uids =
        (await withTimeout('search', timeoutMs, client.search({ all: true }, { uid: true }), () => client.close())) ||
        [];
  } catch (error: unknown) {
    releaseAll();
    throw connectionFailure(error);
  }
  uids.sort((a, b) => a - b);

  async function* entries(): AsyncGenerator<Buffer> {
    for (let start = 0; start < uids.length; start += METADATA_BATCH) {
      const batch = uids.slice(start, start + METADATA_BATCH);
      const described = await withTimeout(
        'fetch envelopes',
        timeoutMs,
        client.fetchAll(batch.join(','), { uid: true, envelope: true, internalDate: true }, { uid: true }),
        () => client.close(),
      );
      const byUid = new Map(described.map((message) => [message.uid, message]));
      for (const uid of batch) {
        const message = byUid.get(uid);
        // Expunged since the search: nothing to write.
        if (!message) continue;
        const download = await withTimeout(
          'download',
          timeoutMs,
          client.download(String(uid), undefined, { uid: true }),
          () => client.close(),
        );
        if (!download.content) continue;
        const internalDate = message.internalDate ? new Date(message.internalDate) : new Date(0);
        yield mboxSeparator(message.envelope?.from?.[0]?.address ?? null, internalDate);
        // imapflow reads the next window of the message only when this loop asks for it.
        for await (const chunk of download.content.pipe(mboxrdQuoting())) yield chunk as Buffer;
        yield Buffer.from('\n', 'latin1');
      }
    }
  }
  const stream = Readable.from(entries(), { objectMode: false });
  // On 'close', not in the generator: a stream destroyed before its first read never runs it.
  stream.once('close', releaseAll);
  return stream;
}
