import { Readable } from 'node:stream';

import { mboxrdQuoting, mboxSeparator } from './mbox-export.js';

const RECEIVED = new Date('2024-06-04T09:05:03Z');

/** Runs `chunks` through the quoting as a download would deliver them. */
async function quoted(chunks: (string | Buffer)[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of Readable.from(chunks.map((chunk) => Buffer.from(chunk))).pipe(mboxrdQuoting()))
    parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe('mbox export', () => {
  it('opens an entry with the sender and asctime, or MAILER-DAEMON when it is unknown or would break the line', () => {
    expect(mboxSeparator('alice@example.com', RECEIVED).toString()).toBe(
      'From alice@example.com Tue Jun  4 09:05:03 2024\n',
    );
    expect(mboxSeparator(null, RECEIVED).toString()).toMatch(/^From MAILER-DAEMON /u);
    expect(mboxSeparator('a b@c', RECEIVED).toString()).toMatch(/^From MAILER-DAEMON /u);
  });

  it('writes LF line ends, one more ">" on every From line, and completes a last line, whatever the chunking', async () => {
    const source = 'Subject: x\r\n\r\nFrom here\r\n>>From there\r\nFromage\r\nlast line without end';
    const expected = 'Subject: x\n\n>From here\n>>>From there\nFromage\nlast line without end\n';
    expect((await quoted([source])).toString()).toBe(expected);
    // Cut inside "From", inside CRLF and at every other place a download window may end.
    expect((await quoted(source.split(''))).toString()).toBe(expected);
    expect(
      (
        await quoted(['Subject: x\r\n\r\nFr', 'om here\r', '\n>>From there\r\nFromage\r\nlast line without end'])
      ).toString(),
    ).toBe(expected);
  });

  it('keeps 8-bit bytes and a lone CR inside a line as they are', async () => {
    expect([...(await quoted([Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0d, 0x78, 0x0d, 0x0a])]))]).toEqual([
      0x63, 0x61, 0x66, 0xe9, 0x0d, 0x78, 0x0a,
    ]);
  });
});
