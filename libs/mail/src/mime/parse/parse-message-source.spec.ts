import { generateCorpus } from '../../../../../test/support/mail-corpus.js';
import type { MessageKind } from '../../../../../test/support/mail-corpus.js';
import { simpleParser } from 'mailparser';

import { parseMessageSource, StreamedMessageParse, tryParseMessageSource } from './parse-message-source.js';

describe('parseMessageSource', () => {
  const kinds: MessageKind[] = ['plain', 'html', 'alternative', 'attachment', 'related', 'koi8', 'rfc2231'];

  it.each(kinds)('decodes a %s message into text, html, addresses and attachments', async (kind) => {
    const [message] = generateCorpus({
      count: 1,
      domain: 'example.test',
      tag: kind,
      kinds: [kind],
      maxAttachmentBytes: 50_000,
    });
    if (!message) throw new Error('no message generated');
    const sut = await parseMessageSource(message.raw);

    expect(sut.subject).toBe(message.expect.subject);
    expect(sut.messageId).toBe(message.expect.messageId);
    expect(sut.from).toEqual({ name: message.expect.fromName, address: message.expect.fromAddress });
    expect(sut.to.map((entry) => entry.address)).toEqual(message.expect.to);
    if (message.expect.textIncludes) expect(sut.text).toContain(message.expect.textIncludes);
    if (message.expect.htmlIncludes) expect(sut.html).toContain(message.expect.htmlIncludes);
    expect(sut.attachments.map(({ filename, contentType, size }) => ({ filename, contentType, size }))).toEqual(
      message.expect.attachments.map(({ filename, contentType, size }) => ({ filename, contentType, size })),
    );
  });

  it('reads every kind of message as simpleParser does, attachments counted rather than kept', async () => {
    const messages = generateCorpus({ count: 300, domain: 'example.test', tag: 'same', maxAttachmentBytes: 200_000 });
    for (const message of messages.filter((candidate) => !candidate.expect.unparseable)) {
      const simple = await simpleParser(message.raw, { keepCidLinks: true, skipTextToHtml: true, checksumAlgo: false });
      const sut = await parseMessageSource(message.raw);
      const address = simple.from?.value[0];
      expect({
        subject: sut.subject,
        messageId: sut.messageId,
        from: sut.from?.address ?? null,
        to: sut.to.map((entry) => entry.address),
        date: sut.date?.toISOString() ?? null,
        html: sut.html,
        attachments: sut.attachments.map(({ partId, filename, contentType, size, contentId }) => ({
          partId,
          filename,
          contentType,
          size,
          contentId,
        })),
      }).toEqual({
        subject: simple.subject ?? null,
        messageId: simple.messageId ?? null,
        from: address?.address ?? null,
        to: (Array.isArray(simple.to) ? simple.to : simple.to ? [simple.to] : []).flatMap((field) =>
          field.value.map((entry) => entry.address ?? ''),
        ),
        date: simple.date?.toISOString() ?? null,
        html: typeof simple.html === 'string' && simple.html !== '' ? simple.html : null,
        attachments: simple.attachments.map(({ partId, filename, contentType, size, contentId }) => ({
          partId,
          filename: filename ?? null,
          contentType,
          size,
          contentId: contentId ?? null,
        })),
      });
    }
  });

  it('gives the same result streamed in chunks of any size as from the whole source', async () => {
    const messages = generateCorpus({
      count: 300,
      domain: 'example.test',
      tag: 'streamed',
      maxAttachmentBytes: 200_000,
    });
    for (const [index, message] of messages.entries()) {
      // Tiny chunks split every line and header, but cost a write each: only for the first few.
      const chunkSize = index < 10 ? 1 + (index % 7) : ([997, 4096, 65_536, 1_000_003][index % 4] ?? 4096);
      const streamed = new StreamedMessageParse();
      for (let offset = 0; offset < message.raw.length; offset += chunkSize)
        await streamed.write(message.raw.subarray(offset, offset + chunkSize));
      expect(await streamed.end()).toEqual(await tryParseMessageSource(message.raw));
    }
  });

  it('decodes RFC 2047 subjects in several charsets', async () => {
    const messages = generateCorpus({
      count: 40,
      domain: 'example.test',
      tag: 'charsets',
      kinds: ['plain'],
      replyRatio: 0,
    });
    for (const message of messages) {
      expect((await parseMessageSource(message.raw)).subject).toBe(message.expect.subject);
    }
  });

  it('reports a message mailparser refuses instead of throwing', async () => {
    const [message] = generateCorpus({ count: 1, domain: 'example.test', tag: 'broken', kinds: ['unparseable'] });
    if (!message) throw new Error('no message generated');

    await expect(tryParseMessageSource(message.raw)).resolves.toMatchObject({ ok: false });
  });

  it('gives a single-part HTML message the text mailparser converts for it', async () => {
    const html =
      '<html><body><h1>Quarterly report</h1><p>See <a href="https://example.test/r">the r&eacute;sum&eacute;</a>.</p><table><tr><td>a</td><td>b</td></tr></table><ul><li>one</li><li>two</li></ul></body></html>';
    const sources = [
      `Subject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${html}`,
      `Subject: upper\r\nContent-Type: TEXT/HTML\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(html).toString('base64')}`,
      `Subject: mixed\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain part\r\n--b\r\nContent-Type: text/html\r\n\r\n${html}\r\n--b--\r\n`,
    ].map((text) => Buffer.from(text));
    for (const source of sources) {
      const expected = (
        await simpleParser(source, {
          skipTextToHtml: true,
          skipImageLinks: true,
          skipTextLinks: true,
          keepCidLinks: true,
        })
      ).text;
      expect((await parseMessageSource(source)).text).toBe(expected);
    }
  });
});
