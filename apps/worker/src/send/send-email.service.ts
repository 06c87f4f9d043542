import { DraftRepository, SendRecordRepository, StoredAttachmentRepository } from '@app/database';
import type { SendRecord, SmtpAcceptanceRecord } from '@app/database';
import {
  AccountMailSettings,
  AccountNotFoundError,
  AccountReauthRequiredError,
  classifySmtpFailure,
  ImapConnectionPool,
  SmtpStartDeadlineError,
  SmtpTransportPool,
} from '@app/mail';
import type { AccountConnection } from '@app/mail';
import { TenantScope } from '@app/tenancy';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';

import { DraftMailboxService } from '../drafts/draft-mailbox.service.js';
import { appendOnce, folderWithSpecialUse } from '../mailbox/mailbox-copies.js';
import { MissingAttachmentError, MimeMessageBuilder } from '../mailbox/mime-message-builder.js';
import type { BuiltMessage } from '../mailbox/mime-message-builder.js';
import { InjectSentCopyPolicy, providerFilesSentCopy } from './provider-filing.js';
import type { SentCopyPolicy } from './provider-filing.js';
import { SendAttemptBatches } from './send-attempt-batches.js';
import { InjectSendRetryPolicy, retryDelayMs } from './send-retry-policy.js';
import type { SendRetryPolicy } from './send-retry-policy.js';

export type SentCopyFiling = 'appended' | 'already-present' | 'filed-by-provider' | 'no-sent-folder';

export type SendOutcome =
  | { state: 'sent'; filing: SentCopyFiling; smtpAttempted: boolean }
  | { state: 'failed'; reason: string }
  | { state: 'retry'; delayMs: number; reason: string }
  | { state: 'cancelled' }
  | { state: 'missing' };

/**
 * Points in a send where tests stop the worker the way a crash would. Bound only by test
 * modules; the worker module never provides it, so production code paths never call one.
 */
export interface SendTestHooks {
  afterSmtpAccepted?(record: SendRecord): Promise<void>;
}
export const SEND_TEST_HOOKS = Symbol('SendTestHooks');

type Prepared =
  | { state: 'done'; outcome: SendOutcome }
  | {
      state: 'ready';
      record: SendRecord;
      connection: AccountConnection;
      message: BuiltMessage;
      attempt: { number: number; startSmtpBy: number } | null;
    };

interface TransmitFailure {
  reason: string;
  permanent: boolean;
  /** Nothing reached the server and no attempt is due to it: the record is given back to be tried again at once. */
  notStarted: boolean;
}

/** How long after a live claim's end (or a held send's due time) a job that found the record not claimable looks again. */
const CLAIM_RECHECK_MARGIN_MS = 1_000;

/**
 * How long a worker keeps trying to record that the SMTP server took a message before giving up
 * (and risking a second send on the job's retry): longer than a PostgreSQL restart or failover.
 */
const RECORD_ACCEPTANCE_PATIENCE_MS = 5 * 60_000;

/**
 * One send record through its state machine: queued → sending → sent | failed.
 *
 * The record, not the queue, is the source of truth. Once the server has accepted the message
 * (smtpAcceptedAt set), no retry, stalled-job recovery or duplicate job hands it to SMTP again;
 * it only finishes the Sent copy and removes the draft. Before that, each attempt is counted and
 * classified by the server's reply: permanent replies fail the record at once, transient ones are
 * retried with backoff until the policy's attempts run out (the retry's due time is kept on the
 * record, so a job enqueued again after the queue lost it keeps the delay).
 *
 * An attempt holds its record through a claim that expires (sendClaimTiming): it opens at most one
 * SMTP transaction, only within its claim, and a second job of the record (a stalled job run
 * again, a lost job enqueued again by the scheduler) waits until the claim has run out instead of
 * sending beside it.
 *
 * A queued record held until `sendAt` (a scheduled send, the undo window) cannot be claimed before
 * then, and one the client cancelled (queued → cancelled, which the claim and the cancel decide
 * between in PostgreSQL) never again: a job that comes early waits for the time, one that finds the
 * send cancelled ends. The draft stays until the message has left, so a cancel can give it back.
 */
@Injectable()
export class SendEmailService {
  private readonly logger = new Logger(SendEmailService.name);

  constructor(
    private readonly imapPool: ImapConnectionPool,
    private readonly scope: TenantScope,
    private readonly sendRecords: SendRecordRepository,
    private readonly drafts: DraftRepository,
    private readonly storedAttachments: StoredAttachmentRepository,
    private readonly mailSettings: AccountMailSettings,
    private readonly smtp: SmtpTransportPool,
    private readonly builder: MimeMessageBuilder,
    private readonly draftMailbox: DraftMailboxService,
    private readonly batches: SendAttemptBatches,
    @InjectSendRetryPolicy() private readonly policy: SendRetryPolicy,
    @InjectSentCopyPolicy() private readonly sentCopyPolicy: SentCopyPolicy,
    @Optional() @Inject(SEND_TEST_HOOKS) private readonly hooks: SendTestHooks | null = null,
  ) {}

  async send(sendRecordId: string): Promise<SendOutcome> {
    const prepared = await this.prepare(sendRecordId);
    if (prepared.state !== 'ready') return prepared.outcome;
    const { record, connection, message, attempt } = prepared;

    let smtpAttempted = false;
    if (attempt !== null) {
      smtpAttempted = true;
      const failure = await this.transmit(record, connection, message, attempt.startSmtpBy);
      if (failure) return this.afterFailure(record, attempt.number, failure);
      await this.hooks?.afterSmtpAccepted?.(record);
    }
    return this.finish(record, connection, message, smtpAttempted);
  }

  /**
   * The common case claims the record and loads its account in one write shared with the other
   * sends in flight, committed before any byte goes to SMTP. When there is nothing to claim, the
   * record tells why: gone, failed, or accepted by the server already (a retry after a crash),
   * in which case only the Sent copy and the clean-up may be left.
   */
  private async prepare(sendRecordId: string): Promise<Prepared> {
    const claimed = await this.batches.claim(sendRecordId);
    if (!claimed) return this.scope.transaction(() => this.resume(sendRecordId));
    const { record, connection } = claimed;
    if (connection === null || connection instanceof AccountNotFoundError)
      return { state: 'done', outcome: { state: 'missing' } };
    if (connection instanceof AccountReauthRequiredError) {
      // Nothing to log in with until the user authorises the account again: failing now tells them, retrying would not.
      await this.sendRecords.markFailed(record.id, record.attempts, connection.message);
      return { state: 'done', outcome: { state: 'failed', reason: connection.message } };
    }
    if (connection instanceof Error) throw connection;
    return this.ready(record, connection, { number: record.attempts, startSmtpBy: claimed.startSmtpBy });
  }

  private async resume(sendRecordId: string): Promise<Prepared> {
    const record = await this.sendRecords.findById(sendRecordId);
    if (record?.state === 'cancelled') return { state: 'done', outcome: { state: 'cancelled' } };
    if (record?.state === 'queued' && record.sendAt) {
      // Held until sendAt (a scheduled send, the undo window), by the database's clock: this job
      // came early (enqueued again, or delayed by a clock ahead of the database's) and waits.
      const delayMs = Math.max(0, record.sendAt.getTime() - Date.now()) + CLAIM_RECHECK_MARGIN_MS;
      return { state: 'done', outcome: { state: 'retry', delayMs, reason: 'the send is held until its sendAt' } };
    }
    if (record?.state === 'sending' && !record.smtpAcceptedAt && record.claimedUntil) {
      // Another attempt holds the record (this job is a duplicate, or was taken over while the
      // holder still runs): come back once its claim has ended, sent, failed or expired.
      const delayMs = Math.max(0, record.claimedUntil.getTime() - Date.now()) + CLAIM_RECHECK_MARGIN_MS;
      return { state: 'done', outcome: { state: 'retry', delayMs, reason: 'another attempt holds the record' } };
    }
    if (!record || (!record.smtpAcceptedAt && record.state !== 'failed'))
      return { state: 'done', outcome: { state: 'missing' } };
    if (record.state === 'failed')
      return { state: 'done', outcome: { state: 'failed', reason: record.lastResponse ?? 'failed' } };
    if (record.sentCopyAppendedAt) {
      await this.cleanUp(record);
      return { state: 'done', outcome: { state: 'sent', filing: 'already-present', smtpAttempted: false } };
    }
    let connection: AccountConnection;
    try {
      connection = await this.mailSettings.forAccount(record.accountId);
    } catch (error: unknown) {
      if (error instanceof AccountNotFoundError) return { state: 'done', outcome: { state: 'missing' } };
      throw error;
    }
    return this.ready(record, connection, null);
  }

  private async ready(
    record: SendRecord,
    connection: AccountConnection,
    attempt: { number: number; startSmtpBy: number } | null,
  ): Promise<Prepared> {
    let message: BuiltMessage;
    try {
      message = await this.builder.forSend(record.content, record.messageId, dateOf(record));
    } catch (error: unknown) {
      if (!(error instanceof MissingAttachmentError) || record.smtpAcceptedAt) throw error;
      await this.sendRecords.markFailed(record.id, record.attempts, error.message);
      return { state: 'done', outcome: { state: 'failed', reason: error.message } };
    }
    return { state: 'ready', record, connection, message, attempt };
  }

  /**
   * Null once the server accepted the message and that is recorded. A failure to record it is
   * not an SMTP failure: it is retried for a while (a database restart or failover), since a job
   * retry would find the record still claimable and send the message again; only past that does
   * it propagate.
   */
  private async transmit(
    record: SendRecord,
    connection: AccountConnection,
    message: BuiltMessage,
    startSmtpBy: number,
  ): Promise<TransmitFailure | null> {
    let response: string;
    try {
      // A refused login happens before MAIL FROM, so trying again with a refreshed token cannot send twice.
      const acceptance = await this.mailSettings.withLoginRetry(connection, (current) =>
        this.smtp.send(
          `${record.tenantId}:${record.accountId}`,
          current.smtp,
          message.envelope,
          message.forTransmission,
          record.messageId,
          startSmtpBy,
        ),
      );
      const refused = acceptance.rejected.length > 0 ? ` (refused recipients: ${acceptance.rejected.join(', ')})` : '';
      response = `${acceptance.response}${refused}`;
    } catch (error: unknown) {
      if (error instanceof SmtpStartDeadlineError) return { reason: error.message, permanent: false, notStarted: true };
      const failure = classifySmtpFailure(error);
      this.logger.warn(
        { sendRecordId: record.id, responseCode: failure.responseCode, reason: failure.reason },
        `SMTP attempt failed (${failure.kind})`,
      );
      return { reason: failure.reason, permanent: failure.kind === 'permanent', notStarted: false };
    }
    await this.recordAcceptance({
      id: record.id,
      response,
      sentCopyFiled: providerFilesSentCopy(this.sentCopyPolicy, connection.smtp.host),
    });
    return null;
  }

  private async recordAcceptance(acceptance: SmtpAcceptanceRecord): Promise<void> {
    const giveUpAt = Date.now() + RECORD_ACCEPTANCE_PATIENCE_MS;
    for (let delayMs = 250; ; delayMs = Math.min(delayMs * 2, 5_000)) {
      try {
        await this.batches.accepted(acceptance);
        return;
      } catch (error: unknown) {
        if (Date.now() + delayMs > giveUpAt) throw error;
        this.logger.warn(
          { sendRecordId: acceptance.id, reason: error instanceof Error ? error.message : String(error) },
          'The server accepted the message but that could not be recorded yet; retrying, so it is not sent twice',
        );
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  private async afterFailure(
    record: SendRecord,
    attempt: number,
    { reason, permanent, notStarted }: TransmitFailure,
  ): Promise<SendOutcome> {
    if (notStarted) {
      await this.sendRecords.markRetrying(record.id, attempt, record.lastResponse ?? reason, new Date());
      return { state: 'retry', delayMs: 0, reason };
    }
    if (permanent) {
      await this.sendRecords.markFailed(record.id, attempt, reason);
      return { state: 'failed', reason };
    }
    if (attempt >= this.policy.maxAttempts) {
      const finalReason = `gave up after ${attempt} attempts: ${reason}`;
      await this.sendRecords.markFailed(record.id, attempt, finalReason);
      return { state: 'failed', reason: finalReason };
    }
    const delayMs = retryDelayMs(this.policy, attempt);
    await this.sendRecords.markRetrying(record.id, attempt, reason, new Date(Date.now() + delayMs));
    return { state: 'retry', delayMs, reason };
  }

  private async finish(
    record: SendRecord,
    connection: AccountConnection,
    message: BuiltMessage,
    smtpAttempted: boolean,
  ): Promise<SendOutcome> {
    let filing: SentCopyFiling = 'already-present';
    if (providerFilesSentCopy(this.sentCopyPolicy, connection.smtp.host)) {
      filing = 'filed-by-provider';
      if (!smtpAttempted) await this.sendRecords.markSentCopyFiled(record.id);
    } else if (smtpAttempted || !record.sentCopyAppendedAt) {
      filing = await this.fileSentCopy(record, connection, message);
      await this.sendRecords.markSentCopyFiled(record.id);
    }
    await this.cleanUp(record);
    return { state: 'sent', filing, smtpAttempted };
  }

  /** The draft a message was sent from goes away (row and IMAP copy), and so do bytes nothing needs any more. */
  private async cleanUp(record: SendRecord): Promise<void> {
    if (record.draftId) {
      await this.drafts.delete(record.draftId);
      await this.draftMailbox.mirror(record.accountId, record.draftId);
    }
    await this.storedAttachments.deleteUnreferenced(
      record.content.attachments.map((attachment) => attachment.storageKey),
    );
  }

  private async fileSentCopy(
    record: SendRecord,
    connection: AccountConnection,
    message: BuiltMessage,
  ): Promise<SentCopyFiling> {
    return this.mailSettings.withLoginRetry(connection, (current) => this.fileSentCopyWith(record, current, message));
  }

  private async fileSentCopyWith(
    record: SendRecord,
    connection: AccountConnection,
    message: BuiltMessage,
  ): Promise<SentCopyFiling> {
    return this.imapPool.withConnection(connection.imap, async (client) => {
      const path = await folderWithSpecialUse(client, '\\Sent');
      if (!path) {
        this.logger.warn(
          { sendRecordId: record.id, accountId: record.accountId },
          'No Sent folder: the sent copy is not filed',
        );
        return 'no-sent-folder';
      }
      return appendOnce(client, path, await message.forMailbox(), record.messageId, ['\\Seen'], dateOf(record));
    });
  }
}

/**
 * The message's Date, fixed on the record so every attempt builds the same message: when it was
 * accepted, or when it was held until (a scheduled message is dated when it goes, as a client that
 * sent it then would have dated it).
 */
function dateOf(record: SendRecord): Date {
  return record.sendAt ?? record.createdAt;
}
