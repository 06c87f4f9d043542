import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { OnModuleDestroy } from '@nestjs/common';

import { StreamedMessageParse, tryParseMessageSource } from './parse-message-source.js';
import type { ParseOutcome } from './parsed-message.js';
import type { ParseRequest, ParseResponse, ParseWorkerMessage } from './parse-worker.js';

/**
 * Opens a message's source as a stream of chunks, or gives null when the message is gone. Called
 * again when the parse has to run once more on another thread.
 */
export type SourceStreamOpener = () => Promise<AsyncIterable<Uint8Array> | null>;

interface Task {
  id: number;
  source: Buffer | SourceStreamOpener;
  resolve: (outcome: ParseOutcome | null) => void;
  reject: (error: unknown) => void;
  startedAt: number;
  /** It was on a thread that had to be stopped: it runs again alone, so a timeout names it exactly. */
  suspect: boolean;
  /** A streamed task's run on its current thread; a run that finds it changed stops feeding. */
  run: number;
  /** Streamed chunks posted that the thread has not taken in yet. */
  unacknowledged: number;
  /** Wakes a feed waiting for the thread to take chunks in, or to notice it should stop. */
  wake: (() => void) | null;
}

interface Slot {
  worker: Worker;
  running: Map<number, Task>;
  ready: boolean;
  spawnedAt: number;
  /** Runs one suspect task and nothing else. */
  isolating: boolean;
  /** Runs a streamed task (at most one, so large messages go through one per thread). */
  streaming: boolean;
}

export interface MimeParserPoolOptions {
  /** The thread script; the compiled parse-worker.js next to this file by default. */
  workerFile?: string;
  threads?: number;
  parseTimeoutMs?: number;
}

export const MIME_PARSER_POOL_OPTIONS = Symbol('MIME_PARSER_POOL_OPTIONS');

/** Tasks handed to one thread ahead of time, so it never idles waiting for the next message. */
const IN_FLIGHT_PER_THREAD = 8;
/** Chunks of a streamed source posted ahead of the thread's parse: enough to keep it busy, no more. */
const STREAM_WINDOW = 4;
const PARSE_TIMEOUT_MS = 60_000;
/**
 * A parse's garbage is short-lived, and V8's default young generation (several times this) only
 * made each thread hold more memory: a worker syncing 200 messages of 1-10 MB peaked at 266 MB
 * with this against 300-307 MB without, and the parse rate stayed within run-to-run noise.
 */
const YOUNG_GENERATION_MB = 4;
/** Threads that die before they are ready, in a row, after which parsing stays on the calling thread. */
const MAX_START_FAILURES = 3;

/**
 * mailparser is CPU-bound and synchronous in large stretches; running it on worker threads lets a
 * sync fetch and write while other cores decode. The queue is bounded by the callers (a few
 * batches at a time), so the pool keeps no backlog of its own beyond that.
 *
 * Failure modes stay contained: a message that hangs or crashes its thread costs that message
 * alone (the thread's other tasks are retried one by one on fresh threads), threads that cannot
 * start are not restarted forever (parsing falls back to the calling thread), and shutting down
 * waits for the tasks already submitted.
 *
 * When the worker script is not available (tests running the TypeScript sources), it parses on
 * the calling thread instead, with the same results.
 *
 * A source too large to hold whole is streamed: its chunks go to the thread as they arrive, a
 * few ahead of the parse, and a parse that must run again reopens the source.
 */
@Injectable()
export class MimeParserPool implements OnModuleDestroy {
  private readonly logger = new Logger(MimeParserPool.name);
  private readonly slots: Slot[] = [];
  private readonly waiting: Task[] = [];
  private readonly workerFile: string;
  private readonly size: number;
  private readonly parseTimeoutMs: number;
  private inProcess: boolean;
  private startFailures = 0;
  private nextId = 1;
  private watchdog: NodeJS.Timeout | null = null;
  private closing = false;
  private drained: (() => void) | null = null;

  constructor(@Optional() @Inject(MIME_PARSER_POOL_OPTIONS) options: MimeParserPoolOptions | null = null) {
    this.workerFile = options?.workerFile ?? fileURLToPath(new URL('./parse-worker.js', import.meta.url));
    // The calling thread spends most of a sync waiting on IMAP and PostgreSQL, so parsing gets
    // every core, up to two; more only add contention.
    this.size = options?.threads ?? Math.max(1, Math.min(2, availableParallelism()));
    this.parseTimeoutMs = options?.parseTimeoutMs ?? PARSE_TIMEOUT_MS;
    this.inProcess = !existsSync(this.workerFile) || (!options?.workerFile && !import.meta.url.endsWith('.js'));
  }

  get threads(): number {
    return this.inProcess ? 0 : this.slots.length;
  }

  /**
   * Starts the threads ahead of the first message: loading the parser into a thread takes about a
   * third of a second, which the first sync of a fresh worker would otherwise wait for.
   */
  start(): void {
    if (this.inProcess || this.closing) return;
    while (this.slots.length < this.size) this.slots.push(this.spawn());
  }

  async parse(source: Buffer): Promise<ParseOutcome> {
    if (this.inProcess || this.closing) return tryParseMessageSource(source);
    // Only an opener can find its message gone: a whole source always has an outcome.
    return this.submit(source) as Promise<ParseOutcome>;
  }

  /**
   * Parses a source read from `open` as it arrives. Null when the opener finds the message gone;
   * a failure to read the source (not to parse it) rejects, as the caller's read would.
   */
  async parseStream(open: SourceStreamOpener): Promise<ParseOutcome | null> {
    if (this.inProcess || this.closing) return parseStreamHere(open);
    return this.submit(open);
  }

  private async submit(source: Buffer | SourceStreamOpener): Promise<ParseOutcome | null> {
    return new Promise<ParseOutcome | null>((resolve, reject) => {
      this.waiting.push({
        id: this.nextId++,
        source,
        resolve,
        reject,
        startedAt: 0,
        suspect: false,
        run: 0,
        unacknowledged: 0,
        wake: null,
      });
      this.dispatch();
    });
  }

  /** Waits for every submitted task (each bounded by the parse timeout), then stops the threads. */
  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    if (this.pending() > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private pending(): number {
    return this.waiting.length + this.slots.reduce((total, slot) => total + slot.running.size, 0);
  }

  private settled(task: Task, outcome: ParseOutcome | null, failure?: unknown): void {
    if (failure === undefined) task.resolve(outcome);
    else task.reject(failure);
    if (this.drained && this.pending() === 0) {
      this.drained();
      this.drained = null;
    }
  }

  private dispatch(): void {
    if (this.inProcess) {
      for (const task of this.waiting.splice(0)) {
        const source = task.source;
        const parsed = Buffer.isBuffer(source) ? tryParseMessageSource(source) : parseStreamHere(source);
        parsed.then(
          (outcome) => this.settled(task, outcome),
          (error: unknown) => this.settled(task, null, error),
        );
      }
      return;
    }
    this.start();
    this.watchdog ??= setInterval(
      () => this.reapStuck(),
      Math.min(5_000, Math.max(50, this.parseTimeoutMs / 4)),
    ).unref();
    for (;;) {
      const task = this.waiting[0];
      if (!task) return;
      const streamed = !Buffer.isBuffer(task.source);
      const open = this.slots.filter(
        (slot) =>
          slot.ready &&
          !slot.isolating &&
          !(streamed && slot.streaming) &&
          (task.suspect ? slot.running.size === 0 : slot.running.size < IN_FLIGHT_PER_THREAD),
      );
      const slot = open.reduce<Slot | null>(
        (best, candidate) => (!best || candidate.running.size < best.running.size ? candidate : best),
        null,
      );
      if (!slot) return;
      this.waiting.shift();
      task.startedAt = Date.now();
      slot.isolating = task.suspect;
      slot.running.set(task.id, task);
      if (Buffer.isBuffer(task.source)) {
        // A Buffer may be a view into a larger pooled allocation that structured clone would copy
        // whole; an exact copy is transferred instead.
        const source = new Uint8Array(task.source);
        slot.worker.postMessage({ id: task.id, source } satisfies ParseRequest, [source.buffer]);
      } else {
        slot.streaming = true;
        void this.feed(slot, task, task.source);
      }
    }
  }

  /** Posts a streamed source to the thread running it, a window of chunks ahead of its parse. */
  private async feed(slot: Slot, task: Task, open: SourceStreamOpener): Promise<void> {
    task.run += 1;
    task.unacknowledged = 0;
    const run = task.run;
    const current = (): boolean => task.run === run && slot.running.get(task.id) === task && this.slots.includes(slot);
    slot.worker.postMessage({ id: task.id, open: true } satisfies ParseRequest);
    try {
      const source = await open();
      if (!current()) {
        await source?.[Symbol.asyncIterator]().return?.();
        return;
      }
      if (!source) {
        this.finishStream(slot, task);
        this.settled(task, null);
        this.dispatch();
        return;
      }
      // Leaving the loop early closes the source (its iterator's return()).
      for await (const piece of source) {
        if (!current()) return;
        const chunk = new Uint8Array(piece);
        task.unacknowledged += 1;
        slot.worker.postMessage({ id: task.id, chunk } satisfies ParseRequest, [chunk.buffer]);
        while (task.unacknowledged >= STREAM_WINDOW && current())
          await new Promise<void>((resolve) => (task.wake = resolve));
        if (!current()) return;
      }
      slot.worker.postMessage({ id: task.id, end: true } satisfies ParseRequest);
    } catch (error: unknown) {
      if (!current()) return;
      this.finishStream(slot, task);
      this.settled(task, null, error);
      this.dispatch();
    }
  }

  /** Takes a streamed task off its thread, which drops what it parsed of it. */
  private finishStream(slot: Slot, task: Task): void {
    slot.running.delete(task.id);
    slot.streaming = false;
    slot.isolating = false;
    slot.worker.postMessage({ id: task.id, abort: true } satisfies ParseRequest);
  }

  private static wake(task: Task): void {
    const wake = task.wake;
    task.wake = null;
    wake?.();
  }

  private spawn(): Slot {
    const worker = new Worker(this.workerFile, { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
    const slot: Slot = {
      worker,
      running: new Map(),
      ready: false,
      spawnedAt: Date.now(),
      isolating: false,
      streaming: false,
    };
    worker.unref();
    worker.on('message', (message: ParseWorkerMessage) => {
      if ('ready' in message) {
        slot.ready = true;
        this.startFailures = 0;
        this.dispatch();
        return;
      }
      if ('taken' in message) {
        const task = slot.running.get(message.id);
        if (!task) return;
        task.unacknowledged -= 1;
        MimeParserPool.wake(task);
        return;
      }
      this.answered(slot, message);
    });
    worker.on('error', (error: Error) => this.replace(slot, `parser thread failed: ${error.message}`));
    worker.on('exit', () => this.replace(slot, 'parser thread exited'));
    return slot;
  }

  private answered(slot: Slot, response: ParseResponse): void {
    const task = slot.running.get(response.id);
    if (!task) return;
    slot.running.delete(response.id);
    slot.isolating = false;
    if (!Buffer.isBuffer(task.source)) slot.streaming = false;
    MimeParserPool.wake(task);
    this.settled(task, response.outcome);
    this.dispatch();
  }

  /**
   * A thread died or was stopped. A task it ran alone is the cause and fails; tasks it shared the
   * thread with are queued again, each to run alone, so only the culprit is lost.
   */
  private replace(slot: Slot, reason: string): void {
    const index = this.slots.indexOf(slot);
    if (index === -1) return;
    this.slots.splice(index, 1);
    void slot.worker.terminate();
    const tasks = [...slot.running.values()];
    slot.running.clear();
    // A feed waiting on this thread sees it gone and stops; its task runs again from a new open().
    for (const task of tasks) MimeParserPool.wake(task);
    if (!slot.ready) {
      this.startFailures += 1;
      if (this.startFailures >= MAX_START_FAILURES && !this.inProcess) {
        this.inProcess = true;
        this.logger.error(`parser threads fail to start (${reason}); parsing on the calling thread from now on`);
        // Threads still starting would only fail the same way.
        for (const starting of this.slots.filter((candidate) => !candidate.ready)) {
          this.slots.splice(this.slots.indexOf(starting), 1);
          void starting.worker.terminate();
        }
      }
    }
    if (tasks.length === 1 && tasks[0]?.suspect) {
      this.settled(tasks[0], { ok: false, reason });
    } else {
      for (const task of tasks.reverse()) {
        task.suspect = true;
        this.waiting.unshift(task);
      }
    }
    if (this.waiting.length > 0) this.dispatch();
  }

  private reapStuck(): void {
    const now = Date.now();
    for (const slot of [...this.slots]) {
      if (!slot.ready && now - slot.spawnedAt > this.parseTimeoutMs) {
        this.replace(slot, `parser thread did not start within ${this.parseTimeoutMs / 1000} s`);
        continue;
      }
      const stuck = [...slot.running.values()].some((task) => now - task.startedAt > this.parseTimeoutMs);
      if (stuck) this.replace(slot, `parsing took longer than ${this.parseTimeoutMs / 1000} s`);
    }
    if (this.slots.length === 0 && this.watchdog) {
      clearInterval(this.watchdog);
      this.watchdog = null;
    }
  }
}

/** A streamed parse on the calling thread: parse failures are its outcome, source failures reject. */
async function parseStreamHere(open: SourceStreamOpener): Promise<ParseOutcome | null> {
  const source = await open();
  if (!source) return null;
  const parse = new StreamedMessageParse();
  for await (const chunk of source) await parse.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  return parse.end();
}
