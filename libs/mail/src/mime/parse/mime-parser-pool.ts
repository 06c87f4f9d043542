import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { Injectable } from '@nestjs/common';
import type { OnModuleDestroy } from '@nestjs/common';

import { tryParseMessageSource } from './parse-message-source.js';
import type { ParseOutcome } from './parsed-message.js';
import type { ParseRequest, ParseResponse } from './parse-worker.js';

interface Task {
  id: number;
  source: Buffer;
  resolve: (outcome: ParseOutcome) => void;
  startedAt: number;
}

interface Slot {
  worker: Worker;
  running: Map<number, Task>;
}

/** Tasks handed to one thread ahead of time, so it never idles waiting for the next message. */
const IN_FLIGHT_PER_THREAD = 8;
const PARSE_TIMEOUT_MS = 60_000;

/**
 * mailparser is CPU-bound and synchronous in large stretches; running it on worker threads lets a
 * sync fetch and write while other cores decode. The queue is bounded by the callers (one batch
 * at a time), so the pool keeps no backlog of its own beyond that.
 *
 * When the compiled worker script is not available (tests running the TypeScript sources), it
 * parses on the calling thread instead, with the same results.
 */
@Injectable()
export class MimeParserPool implements OnModuleDestroy {
  private readonly slots: Slot[] = [];
  private readonly waiting: Task[] = [];
  private readonly workerFile = fileURLToPath(new URL('./parse-worker.js', import.meta.url));
  // The calling thread spends most of a sync waiting on IMAP and PostgreSQL (~75% idle in the
  // sync benchmark), so parsing gets every core, up to two; more only add contention.
  private readonly size = Math.max(1, Math.min(2, availableParallelism()));
  private readonly inProcess = !import.meta.url.endsWith('.js') || !existsSync(this.workerFile);
  private nextId = 1;
  private watchdog: NodeJS.Timeout | null = null;
  private closed = false;

  get threads(): number {
    return this.inProcess ? 0 : this.slots.length;
  }

  async parse(source: Buffer): Promise<ParseOutcome> {
    if (this.inProcess || this.closed) return tryParseMessageSource(source);
    return new Promise<ParseOutcome>((resolve) => {
      this.waiting.push({ id: this.nextId++, source, resolve, startedAt: 0 });
      this.dispatch();
    });
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    const slots = this.slots.splice(0);
    for (const slot of slots) this.failAll(slot, 'parser pool closed');
    for (const task of this.waiting.splice(0)) task.resolve({ ok: false, reason: 'parser pool closed' });
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    while (this.slots.length < this.size) this.slots.push(this.spawn());
    this.watchdog ??= setInterval(() => this.reapStuck(), 5_000).unref();
    for (;;) {
      const task = this.waiting[0];
      if (!task) return;
      const slot = this.slots.reduce<Slot | null>((best, candidate) =>
        candidate.running.size < IN_FLIGHT_PER_THREAD && (!best || candidate.running.size < best.running.size) ? candidate : best, null);
      if (!slot) return;
      this.waiting.shift();
      task.startedAt = Date.now();
      slot.running.set(task.id, task);
      // A Buffer may be a view into a larger pooled allocation that structured clone would copy
      // whole; an exact copy is transferred instead.
      const source = new Uint8Array(task.source);
      slot.worker.postMessage({ id: task.id, source } satisfies ParseRequest, [source.buffer]);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(this.workerFile);
    const slot: Slot = { worker, running: new Map() };
    worker.unref();
    worker.on('message', (response: ParseResponse) => {
      const task = slot.running.get(response.id);
      if (!task) return;
      slot.running.delete(response.id);
      task.resolve(response.outcome);
      this.dispatch();
    });
    // A crashed thread (out of memory on a hostile message) fails only its own tasks.
    worker.on('error', (error: Error) => this.replace(slot, `parser thread failed: ${error.message}`));
    worker.on('exit', () => this.replace(slot, 'parser thread exited'));
    return slot;
  }

  private replace(slot: Slot, reason: string): void {
    const index = this.slots.indexOf(slot);
    if (index === -1) return;
    this.slots.splice(index, 1);
    this.failAll(slot, reason);
    void slot.worker.terminate();
    if (!this.closed && this.waiting.length > 0) this.dispatch();
  }

  private failAll(slot: Slot, reason: string): void {
    for (const task of slot.running.values()) task.resolve({ ok: false, reason });
    slot.running.clear();
  }

  private reapStuck(): void {
    const now = Date.now();
    for (const slot of [...this.slots]) {
      const stuck = [...slot.running.values()].some((task) => now - task.startedAt > PARSE_TIMEOUT_MS);
      if (stuck) this.replace(slot, `parsing took longer than ${PARSE_TIMEOUT_MS / 1000} s`);
    }
  }
}
