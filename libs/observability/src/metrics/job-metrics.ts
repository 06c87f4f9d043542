import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

/** How a send job ended: accepted by the SMTP server, or given up for good (a permanent refusal). */
export type EmailOutcome = 'sent' | 'failed';
/** How an account sync that ran ended. */
export type SyncOutcome = 'succeeded' | 'failed';

/** What the worker's jobs did: messages sent or given up, and how long account syncs took. */
export class JobMetrics {
  private readonly emailsProcessed: Counter<'outcome'>;
  private readonly syncDuration: Histogram<'outcome'>;

  constructor(registry: Registry) {
    this.emailsProcessed = new Counter({
      name: 'emails_processed_total',
      help: 'Send jobs that ended: outcome="sent" when the SMTP server accepted the message, "failed" when it was given up (permanent refusal or retries exhausted)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.syncDuration = new Histogram({
      name: 'sync_duration_seconds',
      help: 'Duration of account syncs (sync-account jobs that ran), by outcome',
      labelNames: ['outcome'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers: [registry],
    });
    // Both outcomes show from the start, so a rate over a fresh process is 0, not absent.
    for (const outcome of ['sent', 'failed'] as const) this.emailsProcessed.labels(outcome).inc(0);
  }

  emailProcessed(outcome: EmailOutcome): void {
    this.emailsProcessed.labels(outcome).inc();
  }

  syncEnded(outcome: SyncOutcome, seconds: number): void {
    this.syncDuration.labels(outcome).observe(seconds);
  }
}
