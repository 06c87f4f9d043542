import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { MimeParserPool } from '@app/mail';
import type { ParseOutcome, SourceStreamOpener } from '@app/mail';

import { generateCorpus } from '../../../test/support/mail-corpus.js';
import { PROJECT_ROOT } from '../../../test/support/project-root.js';

const support = join(import.meta.dirname, 'support');
const scripted = join(support, 'scripted-parse-worker.mjs');
const builtWorker = join(PROJECT_ROOT, 'dist', 'libs', 'mail', 'src', 'mime', 'parse', 'parse-worker.js');

const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const subjectOf = (outcome: ParseOutcome | null): string | null => (outcome?.ok ? outcome.message.subject : null);

/** `source` in chunks of `size` bytes, counting how often it was opened. */
function chunked(source: Buffer, size: number): { open: SourceStreamOpener; opened: () => number } {
  let opened = 0;
  const open: SourceStreamOpener = () => {
    opened += 1;
    const pieces: Buffer[] = [];
    for (let offset = 0; offset < source.length; offset += size) pieces.push(source.subarray(offset, offset + size));
    return Promise.resolve(Readable.from(pieces));
  };
  return { open, opened: () => opened };
}

describe('MimeParserPool failure modes (real worker threads)', () => {
  const pools: MimeParserPool[] = [];
  const pool = (options: ConstructorParameters<typeof MimeParserPool>[0]): MimeParserPool => {
    const created = new MimeParserPool(options);
    pools.push(created);
    return created;
  };

  afterEach(async () => {
    for (const created of pools.splice(0)) await created.onModuleDestroy();
  });

  it('parses on worker threads when the script is there', async () => {
    const parser = pool({ workerFile: scripted, threads: 2 });
    const outcomes = await Promise.all(['one', 'two', 'three'].map((text) => parser.parse(Buffer.from(text))));
    expect(outcomes.map(subjectOf)).toEqual(['one', 'two', 'three']);
    expect(parser.threads).toBe(2);
  });

  it('starts its threads ahead of the first message when asked', async () => {
    const parser = pool({ workerFile: scripted, threads: 2 });
    expect(parser.threads).toBe(0);
    parser.start();
    expect(parser.threads).toBe(2);
    expect(subjectOf(await parser.parse(Buffer.from('first')))).toBe('first');
    expect(parser.threads).toBe(2);
  });

  it('a hung message times out alone; the messages that shared its thread are still parsed', async () => {
    const parser = pool({ workerFile: scripted, threads: 1, parseTimeoutMs: 400 });
    const texts = ['a', 'SLOW:100', 'HANG', 'b', 'c'];
    const outcomes = await Promise.all(texts.map((text) => parser.parse(Buffer.from(text))));
    expect(outcomes.map(subjectOf)).toEqual(['a', 'SLOW:100', null, 'b', 'c']);
    const hung = outcomes[2];
    expect(hung?.ok === false && hung.reason).toMatch(/longer than 0.4 s/);
    // The pool keeps working on a fresh thread afterwards.
    expect(subjectOf(await parser.parse(Buffer.from('after')))).toBe('after');
  }, 20_000);

  it('stops restarting threads that cannot start and parses on the calling thread instead', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'parser-pool-'));
    try {
      const workerFile = join(directory, 'unstartable-parse-worker.mjs');
      copyFileSync(join(support, 'unstartable-parse-worker.mjs'), workerFile);
      const parser = pool({ workerFile, threads: 2, parseTimeoutMs: 2_000 });
      const outcome = await parser.parse(Buffer.from('Subject: still parsed\r\nFrom: a@example.test\r\n\r\nbody\r\n'));
      expect(subjectOf(outcome)).toBe('still parsed');
      const starts = (): number =>
        existsSync(join(directory, 'starts.log'))
          ? readFileSync(join(directory, 'starts.log'), 'utf8').split('\n').filter(Boolean).length
          : 0;
      // Threads already starting when the pool gave up are stopped; give them time to be gone.
      await sleep(300);
      const attempts = starts();
      expect(attempts).toBeGreaterThanOrEqual(1);
      expect(attempts).toBeLessThanOrEqual(4);
      await sleep(700);
      expect(starts()).toBe(attempts);
      expect(parser.threads).toBe(0);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }, 20_000);

  it('on shutdown, messages already submitted finish parsing before the threads stop', async () => {
    const parser = pool({ workerFile: scripted, threads: 2 });
    const pending = ['SLOW:300', 'SLOW:200', 'quick'].map((text) => parser.parse(Buffer.from(text)));
    await parser.onModuleDestroy();
    expect((await Promise.all(pending)).map(subjectOf)).toEqual(['SLOW:300', 'SLOW:200', 'quick']);
    expect(parser.threads).toBe(0);
  });

  describe('streamed sources', () => {
    it('are parsed from their chunks, many more than the pool posts ahead of the parse', async () => {
      const parser = pool({ workerFile: scripted, threads: 2 });
      const sources = ['first streamed', 'second streamed'].map((text) => chunked(Buffer.from(text), 1));
      const outcomes = await Promise.all([
        ...sources.map((source) => parser.parseStream(source.open)),
        parser.parse(Buffer.from('whole')),
      ]);
      expect(outcomes.map(subjectOf)).toEqual(['first streamed', 'second streamed', 'whole']);
      expect(sources.map((source) => source.opened())).toEqual([1, 1]);
    });

    it('one caught on a stopped thread is read again from a reopened source; only the hung message fails', async () => {
      const parser = pool({ workerFile: scripted, threads: 1, parseTimeoutMs: 400 });
      const source = chunked(Buffer.from('streamed beside a hang'), 4);
      const [streamed, hung] = await Promise.all([parser.parseStream(source.open), parser.parse(Buffer.from('HANG'))]);
      expect(subjectOf(streamed ?? null)).toBe('streamed beside a hang');
      expect(source.opened()).toBe(2);
      expect(hung?.ok).toBe(false);
    }, 20_000);

    it('a source that fails while read rejects its parse, and the pool goes on', async () => {
      const parser = pool({ workerFile: scripted, threads: 1 });
      const failing: SourceStreamOpener = () =>
        Promise.resolve(
          new Readable({
            read() {
              this.push(Buffer.from('partial'));
              this.destroy(new Error('connection lost mid-message'));
            },
          }),
        );
      await expect(parser.parseStream(failing)).rejects.toThrow('connection lost mid-message');
      await expect(parser.parseStream(() => Promise.resolve(null))).resolves.toBeNull();
      expect(subjectOf(await parser.parseStream(chunked(Buffer.from('after'), 2).open))).toBe('after');
      expect(subjectOf(await parser.parse(Buffer.from('whole after')))).toBe('whole after');
    });

    it('give the built parser thread’s result for a whole source, attachments counted as they pass', async () => {
      const parser = pool({ workerFile: builtWorker, threads: 2 });
      const messages = generateCorpus({
        count: 60,
        domain: 'example.test',
        tag: 'stream',
        maxAttachmentBytes: 3_000_000,
      });
      for (const message of messages) {
        const whole = await parser.parse(message.raw);
        const streamed = await parser.parseStream(chunked(message.raw, 64 * 1024).open);
        expect(streamed).toEqual(whole);
      }
      expect(parser.threads).toBe(2);
    }, 60_000);
  });
});
