import { ReconnectBackoff } from './reconnect-backoff.js';

describe('ReconnectBackoff', () => {
  const options = { baseMs: 1_000, maxMs: 60_000, stableMs: 30_000 };

  it('doubles the ceiling with each consecutive failure, up to the maximum', () => {
    const sut = new ReconnectBackoff({ ...options, random: () => 0.999_999 });

    const delays = Array.from({ length: 9 }, () => sut.nextDelayMs(null));

    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it('waits at least half the ceiling, whatever the jitter draws', () => {
    const sut = new ReconnectBackoff({ ...options, random: () => 0 });

    expect([sut.nextDelayMs(null), sut.nextDelayMs(null), sut.nextDelayMs(null)]).toEqual([500, 1_000, 2_000]);
  });

  it('spreads the waits of accounts that failed together', () => {
    const draws = [0.1, 0.5, 0.9];
    const delays = draws.map((draw) => new ReconnectBackoff({ ...options, random: () => draw }).nextDelayMs(null));

    expect(new Set(delays).size).toBe(3);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(500);
      expect(delay).toBeLessThanOrEqual(1_000);
    }
  });

  it('keeps counting when a connection drops before it was stable', () => {
    const sut = new ReconnectBackoff({ ...options, random: () => 0 });
    sut.nextDelayMs(null);
    sut.nextDelayMs(5_000);

    expect(sut.nextDelayMs(29_999)).toBe(2_000);
    expect(sut.consecutiveFailures).toBe(3);
  });

  it('starts over after a connection that stayed up for the stable period', () => {
    const sut = new ReconnectBackoff({ ...options, random: () => 0 });
    for (let attempt = 0; attempt < 5; attempt += 1) sut.nextDelayMs(null);

    expect(sut.nextDelayMs(30_000)).toBe(500);
    expect(sut.consecutiveFailures).toBe(1);
  });
});
