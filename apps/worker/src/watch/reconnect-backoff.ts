export interface ReconnectBackoffOptions {
  baseMs: number;
  maxMs: number;
  /** A connection that lasted this long counts as healthy: the next failure starts the backoff over. */
  stableMs: number;
  /** Uniform in [0, 1); injectable so tests can pin the jitter. */
  random?: () => number;
}

/**
 * When to reconnect a watch connection that failed or was dropped. The wait doubles with each
 * consecutive failure up to `maxMs`, and is jittered ("equal jitter": half fixed, half random) so
 * the accounts of one server that went down do not all come back in the same second. A
 * connection that dies soon after it was made does not reset the count: a server that accepts
 * and drops at once would otherwise be hammered at the base delay for good.
 */
export class ReconnectBackoff {
  private failures = 0;
  private readonly random: () => number;

  constructor(private readonly options: ReconnectBackoffOptions) {
    this.random = options.random ?? Math.random;
  }

  /**
   * The wait before the next attempt, after a failure. `connectedForMs`: how long the connection
   * that just ended had been up, or null when connecting itself failed.
   */
  nextDelayMs(connectedForMs: number | null): number {
    if (connectedForMs !== null && connectedForMs >= this.options.stableMs) this.failures = 0;
    this.failures += 1;
    const ceiling = Math.min(this.options.maxMs, this.options.baseMs * 2 ** (this.failures - 1));
    return Math.round(ceiling / 2 + (ceiling / 2) * this.random());
  }

  /** After an attempt that worked without keeping a connection open (a poll). */
  reset(): void {
    this.failures = 0;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}
