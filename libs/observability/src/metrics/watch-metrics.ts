import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/** The states an account watch can be in; the same as the sync status reports. */
export type WatchedState = 'watching' | 'polling' | 'backoff' | 'off';
const STATES: readonly WatchedState[] = ['watching', 'polling', 'backoff', 'off'];

/** Accounts this worker process watches, by state: read from the watchers when scraped. */
export class WatchMetrics {
  private source: () => ReadonlyMap<WatchedState, number> = () => new Map();

  constructor(registry: Registry) {
    const counts = (): ReadonlyMap<WatchedState, number> => this.source();
    new Gauge({
      name: 'imap_watch_connections',
      help: 'Accounts this worker watches: state="watching" INBOX in IMAP IDLE, "polling" checked every WATCH_POLL_SECONDS, "backoff" waiting to reconnect, "off" held but not watched (login refused)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const current = counts();
        for (const state of STATES) this.labels(state).set(current.get(state) ?? 0);
      },
    });
  }

  /** The watchers register how to count themselves once they run. */
  countWith(source: () => ReadonlyMap<WatchedState, number>): void {
    this.source = source;
  }
}
