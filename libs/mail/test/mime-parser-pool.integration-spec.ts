import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { MimeParserPool } from '@app/mail';
import type { ParseOutcome } from '@app/mail';

const support = join(import.meta.dirname, 'support');
const scripted = join(support, 'scripted-parse-worker.mjs');

const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const subjectOf = (outcome: ParseOutcome): string | null => (outcome.ok ? outcome.message.subject : null);

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
});
