import { nextAttemptAfter } from './account-sync.service.js';

describe('nextAttemptAfter', () => {
  it('doubles the wait per consecutive failure, capped at six hours', () => {
    const now = 1_000_000;
    const waits = [1, 2, 3, 4, 20].map((failures) => nextAttemptAfter(failures, now).getTime() - now);

    expect(waits).toEqual([60_000, 120_000, 240_000, 480_000, 6 * 3600_000]);
  });
});
