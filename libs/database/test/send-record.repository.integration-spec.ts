import { randomUUID } from 'node:crypto';

import { ConfigModule } from '@app/config';
import { AccountRepository, DatabaseModule, SendRecordRepository } from '@app/database';
import type { IdempotentSendRecord, MailAccount } from '@app/database';
import { TenancyModule, TenantContext } from '@app/tenancy';
import { Module } from '@nestjs/common';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { emptySendValues, unreachableAccount } from '../../../test/support/account-values.js';
import { testConfig } from '../../../test/support/test-config.js';

@Module({
  imports: [
    ConfigModule.forRoot(testConfig()),
    DatabaseModule.forRoot('email_service-send-record-test'),
    TenancyModule,
  ],
})
class SendRecordTestModule {}

describe('SendRecordRepository', () => {
  const tenant = `send-record-${randomUUID().slice(0, 8)}`;
  let app: INestApplicationContext;
  let account: MailAccount;
  const asTenant = <T>(work: () => Promise<T>): Promise<T> => app.get(TenantContext).run(tenant, work);
  const request = (idempotencyKey: string | null): IdempotentSendRecord => ({
    values: emptySendValues(account.id),
    idempotencyKey,
    requestFingerprint: idempotencyKey && `fingerprint-${idempotencyKey}`,
  });

  beforeAll(async () => {
    app = await NestFactory.createApplicationContext(SendRecordTestModule, { logger: false });
    account = await asTenant(() =>
      app.get(AccountRepository).create(
        unreachableAccount(`${tenant}@example.test`, {
          displayName: 'Sender',
          smtpPort: 2,
          encryptedPassword: 'sealed',
        }),
      ),
    );
  });

  afterAll(async () => {
    await app.close();
  });

  it('creates several sends in one call, once per Idempotency-Key, also when a key comes twice in the call', async () => {
    const repository = app.get(SendRecordRepository);
    const earlier = await asTenant(() =>
      repository.createIdempotent(request('taken').values, 'taken', 'fingerprint-taken'),
    );
    const requests = [request('a'), request(null), request('a'), request('taken'), request(null)];

    const sut = await asTenant(() => repository.createManyIdempotent(requests));

    expect(sut.map((creation) => creation.created)).toEqual([true, true, false, false, true]);
    expect(sut[2]?.record.id).toBe(sut[0]?.record.id);
    expect(sut[3]?.record.id).toBe(earlier.record.id);
    expect(sut[1]?.record).toMatchObject({
      messageId: requests[1]?.values.messageId,
      state: 'queued',
      attempts: 0,
      tenantId: tenant,
    });
    const stored = await asTenant(() => Promise.all(sut.map((creation) => repository.findById(creation.record.id))));
    const messageIdOf = (index: number): string | undefined => requests[index]?.values.messageId;
    expect(stored.map((record) => record?.messageId)).toEqual([
      messageIdOf(0),
      messageIdOf(1),
      messageIdOf(0),
      earlier.record.messageId,
      messageIdOf(4),
    ]);
  });

  it('claims an attempt together with the account, and only once the record is claimable', async () => {
    const repository = app.get(SendRecordRepository);
    const { record } = await asTenant(() => repository.createIdempotent(request(null).values, null));

    const claimed = await asTenant(() => repository.claimAttempts([record.id, randomUUID()], 60_000));

    expect([...claimed.keys()]).toEqual([record.id]);
    expect(claimed.get(record.id)?.record).toMatchObject({ id: record.id, state: 'sending', attempts: 1 });
    expect(claimed.get(record.id)?.account).toMatchObject({
      id: account.id,
      email: account.email,
      encryptedPassword: 'sealed',
      smtpPort: 2,
    });
    await asTenant(() =>
      repository.claimAttempts([], 60_000, [{ id: record.id, response: '250 ok', sentCopyFiled: true }]),
    );
    expect((await asTenant(() => repository.claimAttempts([record.id], 60_000))).size).toBe(0);
  });

  it('records acceptances and claims in one statement, and never claims a record accepted by it', async () => {
    const repository = app.get(SendRecordRepository);
    const [sending, queued] = await asTenant(() => repository.createManyIdempotent([request(null), request(null)]));
    if (!sending || !queued) throw new Error('records were not created');
    await asTenant(() => repository.claimAttempts([sending.record.id], 60_000));

    const claimed = await asTenant(() =>
      repository.claimAttempts([sending.record.id, queued.record.id], 60_000, [
        { id: sending.record.id, response: '250 2.0.0 queued', sentCopyFiled: false },
      ]),
    );

    expect([...claimed.keys()]).toEqual([queued.record.id]);
    const stored = await asTenant(() => repository.findById(sending.record.id));
    expect(stored).toMatchObject({
      state: 'sent',
      attempts: 1,
      lastResponse: '250 2.0.0 queued',
      sentCopyAppendedAt: null,
    });
    expect(stored?.smtpAcceptedAt).toBeInstanceOf(Date);
  });

  it('holds a record until its sendAt: not claimed before, claimed after, and waiting for a job with that delay', async () => {
    const repository = app.get(SendRecordRepository);
    const sendAt = new Date(Date.now() + 1_500);
    const { record } = await asTenant(() =>
      repository.createIdempotent({ ...emptySendValues(account.id), sendAt }, null),
    );
    expect(record).toMatchObject({ state: 'queued', sendAt, cancelledAt: null });
    expect(await asTenant(() => repository.findById(record.id))).toMatchObject({ sendAt });
    const awaiting = (await asTenant(() => repository.findAwaitingJob())).find((item) => item.id === record.id);
    expect(awaiting?.nextAttemptAt).toEqual(sendAt);

    expect((await asTenant(() => repository.claimAttempts([record.id], 60_000))).size).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, sendAt.getTime() - Date.now()) + 100));
    const claimed = await asTenant(() => repository.claimAttempts([record.id], 60_000));
    expect(claimed.get(record.id)?.record).toMatchObject({ state: 'sending', attempts: 1 });
  });

  it('cancels a queued record once, decided against a claim in PostgreSQL: a claimed or cancelled one is not cancelled', async () => {
    const repository = app.get(SendRecordRepository);
    const later = new Date(Date.now() + 3600_000);
    const [held, raced] = await asTenant(() =>
      repository.createManyIdempotent([
        { ...request(null), values: { ...emptySendValues(account.id), sendAt: later } },
        request(null),
      ]),
    );
    if (!held || !raced) throw new Error('records were not created');

    const cancelled = await asTenant(() => repository.cancelQueued(held.record.id));
    expect(cancelled).toMatchObject({ id: held.record.id, state: 'cancelled', attempts: 0, sendAt: later });
    expect(cancelled?.cancelledAt).toBeInstanceOf(Date);
    expect(await asTenant(() => repository.cancelQueued(held.record.id))).toBeNull();
    expect((await asTenant(() => repository.claimAttempts([held.record.id], 60_000))).size).toBe(0);
    expect((await asTenant(() => repository.findAwaitingJob())).map((item) => item.id)).not.toContain(held.record.id);

    // The claim and the cancel of one record at once: exactly one of them wins.
    const [claim, cancel] = await Promise.all([
      asTenant(() => repository.claimAttempts([raced.record.id], 60_000)),
      asTenant(() => repository.cancelQueued(raced.record.id)),
    ]);
    expect([claim.size, cancel === null ? 0 : 1].sort()).toEqual([0, 1]);
    const stored = await asTenant(() => repository.findById(raced.record.id));
    expect(stored?.state).toBe(claim.size === 1 ? 'sending' : 'cancelled');
  });
});
