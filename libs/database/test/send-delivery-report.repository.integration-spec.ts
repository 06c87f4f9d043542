import { randomUUID } from 'node:crypto';

import { ConfigModule } from '@app/config';
import { AccountRepository, DatabaseModule, SendDeliveryReportRepository, SendRecordRepository } from '@app/database';
import type { MailAccount, ReportedDelivery, ReportedRecipient, SendRecord } from '@app/database';
import { TenancyModule, TenantContext } from '@app/tenancy';
import { Module } from '@nestjs/common';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { emptySendValues, unreachableAccount } from '../../../test/support/account-values.js';
import { testConfig } from '../../../test/support/test-config.js';

@Module({
  imports: [
    ConfigModule.forRoot(testConfig()),
    DatabaseModule.forRoot('email_service-delivery-report-test'),
    TenancyModule,
  ],
})
class DeliveryReportTestModule {}

function failed(recipient: string): ReportedRecipient {
  return {
    recipient,
    action: 'failed',
    status: '5.1.1',
    diagnostic: '550 5.1.1 User unknown',
    category: 'mailbox_unknown',
  };
}

describe('SendDeliveryReportRepository', () => {
  const tenant = `delivery-report-${randomUUID().slice(0, 8)}`;
  let app: INestApplicationContext;
  let account: MailAccount;
  let otherAccount: MailAccount;
  const asTenant = <T>(work: () => Promise<T>): Promise<T> => app.get(TenantContext).run(tenant, work);

  /** A send the server accepted, addressed to `to`. */
  const sentRecord = async (accountId: string, to: string[]): Promise<SendRecord> => {
    const sends = app.get(SendRecordRepository);
    const values = emptySendValues(accountId);
    values.content.to = to.map((address) => ({ name: '', address }));
    const { record } = await asTenant(() => sends.createIdempotent(values, null));
    await asTenant(() => sends.claimAttempts([], 60_000, [{ id: record.id, response: '250 ok', sentCopyFiled: true }]));
    const stored = await asTenant(() => sends.findById(record.id));
    if (stored?.state !== 'sent') throw new Error(`the send is ${stored?.state}`);
    return stored;
  };

  const report = (
    record: SendRecord,
    recipients: ReportedRecipient[],
    onlySendRecipients = false,
  ): ReportedDelivery => ({
    originalMessageId: record.messageId,
    onlySendRecipients,
    recipients,
    reportedAt: new Date('2026-01-02T03:04:05Z'),
  });

  beforeAll(async () => {
    app = await NestFactory.createApplicationContext(DeliveryReportTestModule, { logger: false });
    const accounts = app.get(AccountRepository);
    account = await asTenant(() => accounts.create(unreachableAccount(`${tenant}@example.test`)));
    otherAccount = await asTenant(() => accounts.create(unreachableAccount(`other-${tenant}@example.test`)));
  });

  afterAll(async () => {
    await app.close();
  });

  it('keeps a send `sent` on a delay, bounces it on a failure, and records each recipient once however often it is reported', async () => {
    const sut = app.get(SendDeliveryReportRepository);
    const record = await sentRecord(account.id, ['slow@far.test', 'gone@far.test']);
    const delay: ReportedRecipient = { ...failed('slow@far.test'), action: 'delayed', status: '4.4.1' };

    expect(await asTenant(() => sut.record(account.id, [report(record, [delay])]))).toEqual([]);
    expect((await asTenant(() => app.get(SendRecordRepository).findById(record.id)))?.state).toBe('sent');

    const failure = report(record, [failed('Gone@Far.test')]);
    expect(await asTenant(() => sut.record(account.id, [failure, failure]))).toEqual([record.id]);
    expect(await asTenant(() => sut.record(account.id, [failure]))).toEqual([]);

    expect((await asTenant(() => app.get(SendRecordRepository).findById(record.id)))?.state).toBe('bounced');
    const stored = await asTenant(() => sut.forSend(record.id));
    expect(stored.map(({ recipient, action, status }) => ({ recipient, action, status }))).toEqual([
      { recipient: 'gone@far.test', action: 'failed', status: '5.1.1' },
      { recipient: 'slow@far.test', action: 'delayed', status: '4.4.1' },
    ]);
  });

  it('takes from prose only the addresses the send went to, and nothing for a Message-ID of another account', async () => {
    const sut = app.get(SendDeliveryReportRepository);
    const record = await sentRecord(account.id, ['kim@far.test']);
    const elsewhere = await sentRecord(otherAccount.id, ['lee@far.test']);

    const bounced = await asTenant(() =>
      sut.record(account.id, [
        report(record, [failed('kim@far.test'), failed('support@far.test')], true),
        report(elsewhere, [failed('lee@far.test')]),
      ]),
    );

    expect(bounced).toEqual([record.id]);
    expect((await asTenant(() => sut.forSend(record.id))).map((row) => row.recipient)).toEqual(['kim@far.test']);
    expect(await asTenant(() => sut.forSend(elsewhere.id))).toEqual([]);
    expect((await asTenant(() => app.get(SendRecordRepository).findById(elsewhere.id)))?.state).toBe('sent');
  });
});
