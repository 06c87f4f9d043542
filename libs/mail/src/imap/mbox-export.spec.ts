import { mboxrdEntry } from './mbox-export.js';

const RECEIVED = new Date('2024-06-04T09:05:03Z');

describe('mboxrdEntry', () => {
  it('writes the separator, LF line ends, one more ">" on every From line, and a closing blank line', () => {
    const source = Buffer.from('Subject: x\r\n\r\nFrom here\r\n>>From there\r\nFromage\r\nlast line without end');

    expect(mboxrdEntry(source, 'alice@example.com', RECEIVED).toString('latin1')).toBe(
      'From alice@example.com Tue Jun  4 09:05:03 2024\nSubject: x\n\n>From here\n>>>From there\nFromage\nlast line without end\n\n',
    );
  });

  it('names MAILER-DAEMON when the sender is unknown or would break the separator line', () => {
    expect(mboxrdEntry(Buffer.from('x\n'), null, RECEIVED).toString('latin1')).toMatch(/^From MAILER-DAEMON /u);
    expect(mboxrdEntry(Buffer.from('x\n'), 'a b@c', RECEIVED).toString('latin1')).toMatch(/^From MAILER-DAEMON /u);
  });

  it('keeps 8-bit bytes and a lone CR inside a line as they are', () => {
    const source = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0d, 0x78, 0x0d, 0x0a]);

    expect([...mboxrdEntry(source, 'a@b', RECEIVED).subarray(-8)]).toEqual([
      0x63, 0x61, 0x66, 0xe9, 0x0d, 0x78, 0x0a, 0x0a,
    ]);
  });
});
