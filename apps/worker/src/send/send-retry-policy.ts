import { Inject } from '@nestjs/common';

/** How transient SMTP failures (4xx replies, timeouts, refused connections) are retried. */
export interface SendRetryPolicy {
  /** SMTP attempts in total, the first included; the record fails after the last one. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const SEND_RETRY_POLICY = Symbol('SendRetryPolicy');
export const InjectSendRetryPolicy = (): ParameterDecorator => Inject(SEND_RETRY_POLICY);

/**
 * Greylisting servers typically ask for 1-15 minutes; six attempts at 1, 2, 4, 8, 16 minutes
 * span about half an hour, long enough for greylisting and short outages, short enough that a
 * user learns within the hour that a message did not go.
 */
export const DEFAULT_SEND_RETRY_POLICY: SendRetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 60_000,
  maxDelayMs: 30 * 60_000,
};

/** Exponential backoff after the given (1-based) failed attempt, with ±20 % jitter so retries of a burst spread out. */
export function retryDelayMs(
  policy: SendRetryPolicy,
  failedAttempt: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failedAttempt - 1));
  return Math.round(exponential * (0.8 + 0.4 * random()));
}
