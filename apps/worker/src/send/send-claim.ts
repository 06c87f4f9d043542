import type { AppConfig } from '@app/config';

/**
 * How long a send attempt's claim on its record lasts, and how late after claiming the attempt
 * may still open its SMTP transaction.
 *
 * The attempt starts SMTP within JOB_LOCK_DURATION of asking for the claim (waiting for a free
 * SMTP slot eats into it; past it the attempt gives the record back untouched). From then on the
 * transaction is bounded by SMTP_TIMEOUT three times over: connecting, the greeting, and the
 * socket's idle limit while the commands and DATA go. So a live attempt has recorded its outcome
 * before its claim runs out, and a job that finds the claim expired (a stalled job run again, a
 * lost job enqueued again) knows the holder is dead and never opens a second transaction beside
 * it. Longer would only delay taking over from a crashed worker, which BullMQ already hands over
 * after JOB_LOCK_DURATION.
 */
export interface SendClaimTiming {
  leaseMs: number;
  startSmtpWithinMs: number;
}

export function sendClaimTiming(config: AppConfig): SendClaimTiming {
  return {
    leaseMs: config.worker.jobLockMs + 3 * config.mail.smtpTimeoutMs,
    startSmtpWithinMs: config.worker.jobLockMs,
  };
}
