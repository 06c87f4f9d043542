import { once } from 'node:events';
import type { ServerResponse } from 'node:http';

import type { ChangesAfter } from '../changes/changes.service.js';
import { changeDto } from '../changes/changes.service.js';

/** How the stream reads the log; runs in the stream's tenant context. */
export type ReadChanges = (since: number) => Promise<ChangesAfter>;

export interface ChangeEventStreamTiming {
  heartbeatMs: number;
  /** A read even without a notification, in case one was lost. */
  pollMs: number;
}

/**
 * One client's server-sent event stream of an account's change log: each change is an event
 * whose `id` is its cursor, so a client that reconnects with `Last-Event-ID` resumes exactly after
 * the last one it got. Reads are serialised and coalesced: a wake-up during a read causes one more.
 */
export class ChangeEventStream {
  private reading: Promise<void> | null = null;
  private again = false;
  private ended = false;
  private readonly closing = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly response: ServerResponse,
    private cursor: number,
    private readonly read: ReadChanges,
    private readonly onEnd: () => void,
  ) {
    response.on('close', () => this.end());
  }

  start(timing: ChangeEventStreamTiming, expiresAt: number | undefined): void {
    this.timers.push(setInterval(() => this.write(': heartbeat\n\n'), timing.heartbeatMs));
    this.timers.push(setInterval(() => this.wake(), timing.pollMs));
    // The token was checked once, at connect; the stream lives no longer than it.
    if (expiresAt !== undefined) this.timers.push(setTimeout(() => this.end(), Math.max(0, expiresAt - Date.now())));
    this.wake();
  }

  /** Reads what is new since the cursor and sends it, now or right after the read under way. */
  wake(): void {
    if (this.ended) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.drain()
      .catch(() => {
        // The database may be restarting (the next wake-up, at the latest the poll, tries again),
        // or the client left while its buffer was full.
      })
      .finally(() => {
        this.reading = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.closing.abort();
    for (const timer of this.timers) clearTimeout(timer);
    if (!this.response.writableEnded) this.response.end();
    this.onEnd();
  }

  private async drain(): Promise<void> {
    for (;;) {
      const page = await this.read(this.cursor);
      for (const entry of page.entries) {
        if (this.ended) return;
        const flowing = this.write(`id: ${entry.seq}\ndata: ${JSON.stringify(changeDto(entry))}\n\n`);
        if (!flowing) await once(this.response, 'drain', { signal: this.closing.signal });
      }
      this.cursor = page.state;
      if (!page.hasMore) return;
    }
  }

  /** False when the client is not keeping up and the socket's buffer is full. */
  private write(chunk: string): boolean {
    if (this.ended || this.response.writableEnded) return true;
    return this.response.write(chunk);
  }
}
