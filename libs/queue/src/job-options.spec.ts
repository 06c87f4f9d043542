import { jobOptions } from './job-options.js';
import { JobName } from './queue-names.js';

describe('jobOptions', () => {
  it('deduplicates syncs per tenant and account so a trigger during a run adds nothing', () => {
    const sut = jobOptions(JobName.SyncAccount, { tenantId: 't1', accountId: 'a1', trigger: 'manual' });

    expect(sut.deduplication).toEqual({ id: 'sync:t1:a1' });
    expect(sut.attempts).toBeGreaterThan(1);
    expect(sut.removeOnComplete).toEqual({ age: 86_400, count: 1000 });
  });

  it('uses the outbound record as the send job id, so a second enqueue is a no-op', () => {
    const sut = jobOptions(JobName.SendEmail, { tenantId: 't1', outboundMessageId: 'o1' });

    expect(sut.jobId).toBe('send:o1');
    expect(sut.backoff).toEqual({ type: 'exponential', delay: 15_000 });
  });
});
