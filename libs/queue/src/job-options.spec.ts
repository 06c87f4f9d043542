import { jobOptions } from './job-options.js';
import { JobName } from './queue-names.js';

describe('jobOptions', () => {
  it('deduplicates syncs per tenant and account so a trigger during a run adds nothing', () => {
    const sut = jobOptions(JobName.SyncAccount, { tenantId: 't1', accountId: 'a1', trigger: 'manual' });

    expect(sut.deduplication).toEqual({ id: 'sync:t1:a1' });
    expect(sut.attempts).toBeGreaterThan(1);
    expect(sut.removeOnComplete).toEqual({ age: 86_400, count: 1000 });
  });

  it('keys push syncs per folder, apart from the account-wide key of manual and scheduled ones', () => {
    const push = (folder?: string): unknown =>
      jobOptions(JobName.SyncAccount, {
        tenantId: 't1',
        accountId: 'a1',
        trigger: 'push',
        ...(folder ? { folder } : {}),
      }).deduplication;

    expect(push('INBOX')).toEqual({ id: 'sync-push:t1:a1:INBOX' });
    expect(push('Archive/2024')).toEqual({ id: 'sync-push:t1:a1:Archive/2024' });
    expect(push()).toEqual({ id: 'sync-push:t1:a1:*' });
    expect(
      jobOptions(JobName.SyncAccount, { tenantId: 't1', accountId: 'a1', trigger: 'schedule' }).deduplication,
    ).toEqual({ id: 'sync:t1:a1' });
  });

  it('deduplicates parsing per message', () => {
    expect(jobOptions(JobName.ParseMessage, { tenantId: 't1', messageId: 'm1' }).deduplication).toEqual({
      id: 'parse:m1',
    });
  });

  it('keys a send by its record, so enqueueing the same record twice adds one job', () => {
    const sut = jobOptions(JobName.SendEmail, { tenantId: 't1', sendRecordId: 'o1' });

    expect(sut.jobId).toBe('send-o1');
    expect(sut.deduplication).toBeUndefined();
  });

  it('keys a webhook job by its delivery, so the dispatcher, the previous job and reconciliation add it once', () => {
    const sut = jobOptions(JobName.DeliverWebhook, {
      tenantId: 't1',
      webhookId: 'w1',
      accountId: 'a1',
      deliveryId: 'd1',
    });

    expect(sut.jobId).toBe('webhook-d1');
    expect(sut.deduplication).toBeUndefined();
  });

  it('keys a draft mirror job by draft and version', () => {
    expect(jobOptions(JobName.SyncDraft, { tenantId: 't1', accountId: 'a1', draftId: 'd1', version: 3 }).jobId).toBe(
      'draft-d1-v3',
    );
    expect(
      jobOptions(JobName.SyncDraft, { tenantId: 't1', accountId: 'a1', draftId: 'd1', version: 3, removed: true })
        .jobId,
    ).toBe('draft-d1-v3-removed');
  });

  it('gives each message action one job, retried before the change is undone', () => {
    const sut = jobOptions(JobName.ApplyMessageAction, {
      tenantId: 't1',
      accountId: 'a1',
      messageId: 'm1',
      actionId: 'x1',
    });

    expect(sut.jobId).toBe('action-x1');
    expect(sut.attempts).toBeGreaterThan(1);
  });

  it('gives each bulk action one job, so reconciliation and a retry find it under the same id', () => {
    const sut = jobOptions(JobName.ApplyBulkAction, { tenantId: 't1', accountId: 'a1', bulkActionId: 'b1' });

    expect(sut.jobId).toBe('bulk-b1');
    expect(sut.attempts).toBeGreaterThan(1);
  });
});
