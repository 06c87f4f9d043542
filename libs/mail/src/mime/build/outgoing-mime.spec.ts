import { buildOutgoingMime, messageIdDomain, smtpEnvelope } from './outgoing-mime.js';
import type { OutgoingMimeInput } from './outgoing-mime.js';

const input: OutgoingMimeInput = {
  from: { name: 'Alice', address: 'alice@example.com' },
  to: [{ name: 'Bob', address: 'bob@bücher.example' }],
  cc: [],
  bcc: [{ name: 'Hidden', address: 'hidden@example.com' }],
  replyTo: [{ name: '', address: 'replies@example.com' }],
  subject: 'Grüße',
  text: 'hello',
  html: '<p>hello</p>',
  inReplyTo: '<parent@example.com>',
  references: ['<root@example.com>', '<parent@example.com>'],
  attachments: [{ filename: 'a.bin', contentType: 'application/octet-stream', content: Buffer.from([0, 1, 2]) }],
  messageId: '<fixed-id@example.com>',
  date: new Date('2026-01-02T03:04:05Z'),
};

describe('buildOutgoingMime', () => {
  it('keeps the fixed Message-ID and date, and the reply headers', async () => {
    const sut = (await buildOutgoingMime(input, { keepBcc: false })).toString();

    expect(sut).toMatch(/^Message-ID: <fixed-id@example\.com>\r$/m);
    expect(sut).toMatch(/^Date: Fri, 02 Jan 2026 03:04:05 \+0000\r$/m);
    expect(sut).toMatch(/^In-Reply-To: <parent@example\.com>\r$/m);
    expect(sut).toMatch(/^References: <root@example\.com> <parent@example\.com>\r$/m);
    expect(sut).toMatch(/^Reply-To: replies@example\.com\r$/m);
    expect(sut).toMatch(/^Subject: =\?UTF-8\?Q\?Gr=C3=BC=C3=9Fe\?=\r$/m);
  });

  it('leaves Bcc out of the transmitted copy and keeps it in the mailbox copy', async () => {
    expect((await buildOutgoingMime(input, { keepBcc: false })).toString()).not.toMatch(/^Bcc:/m);
    expect((await buildOutgoingMime(input, { keepBcc: true })).toString()).toMatch(
      /^Bcc: Hidden <hidden@example\.com>\r$/m,
    );
  });
});

describe('smtpEnvelope', () => {
  it('lists every recipient once, Bcc included, with IDN domains in punycode', () => {
    expect(smtpEnvelope({ ...input, cc: [{ name: '', address: 'bob@bücher.example' }] })).toEqual({
      from: 'alice@example.com',
      to: ['bob@xn--bcher-kva.example', 'hidden@example.com'],
    });
  });

  it('gives Message-IDs an ASCII domain', () => {
    expect(messageIdDomain('jörg@Bücher.Example')).toBe('xn--bcher-kva.example');
  });
});
