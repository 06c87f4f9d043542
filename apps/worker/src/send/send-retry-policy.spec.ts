import { retryDelayMs } from './send-retry-policy.js';

describe('retryDelayMs', () => {
  const policy = { maxAttempts: 6, baseDelayMs: 1_000, maxDelayMs: 5_000 };

  it('doubles the delay per failed attempt up to the cap', () => {
    const middle = (): number => 0.5;

    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(policy, attempt, middle))).toEqual([1_000, 2_000, 4_000, 5_000]);
  });

  it('spreads retries by ±20 %', () => {
    expect(retryDelayMs(policy, 1, () => 0)).toBe(800);
    expect(retryDelayMs(policy, 1, () => 1)).toBe(1_200);
  });
});
