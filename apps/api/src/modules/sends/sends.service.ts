import { randomUUID } from 'node:crypto';

import { AppConfig } from '@app/config';
import {
  AccountRepository,
  DraftRepository,
  SendDeliveryReportRepository,
  SendRecordRepository,
  StoredAttachmentRepository,
} from '@app/database';
import type { MailAccount, SendContent, SendDeliveryReport, SendRecordCreation, SendRecord } from '@app/database';
import { AccountNotFoundError, draftSendContent, messageIdDomain, replyReferences } from '@app/mail';
import { JobName, JobProducer } from '@app/queue';
import { TenantContext, TenantScope } from '@app/tenancy';
import { BadRequestException, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';

import { assertWithinSizeLimit, decodeAttachments } from '../../common/message-fields/message-content.js';
import { toMailboxes } from '../../common/message-fields/recipients.js';
import { DraftNotFoundError } from '../drafts/errors.js';
import { UploadsService } from '../uploads/uploads.service.js';
import type { ComposeMessageDto } from './dto/compose-message.dto.js';
import { SendAlreadyFailedError, SendAlreadySentError, SendNotFoundError } from './errors.js';
import { assertSameRequest, idempotentRequest } from './idempotency-key.js';
import type { IdempotentRequest } from './idempotency-key.js';
import { sendHeldUntil } from './send-hold.js';
import { SendRequestBatches } from './send-request-batches.js';

export interface SendRecordWithReports {
  record: SendRecord;
  reports: SendDeliveryReport[];
}

export interface SendResult {
  record: SendRecord;
  /** False when the Idempotency-Key (or the draft) already had a send: nothing new was queued. */
  created: boolean;
}

/**
 * Sending: validates, fixes the Message-ID, stores the send record (state queued) and enqueues
 * the job that performs it. The API never talks SMTP itself (SPEC §1).
 *
 * A send may be held: until the `sendAt` the client asked for, and at least for the undo window
 * (UNDO_SEND_SECONDS) after it was accepted. The record carries the time it is held until, which
 * the worker's claim respects, and its job is delayed to that time; until a worker claims it, the
 * client may cancel it. A draft stays while its send is held (out of the draft list), so a
 * cancelled send gives it back as it was; the worker removes it once the message has left.
 */
@Injectable()
export class SendsService {
  private readonly logger = new Logger(SendsService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly scope: TenantScope,
    private readonly accounts: AccountRepository,
    private readonly drafts: DraftRepository,
    private readonly sendRecords: SendRecordRepository,
    private readonly deliveryReports: SendDeliveryReportRepository,
    private readonly storedAttachments: StoredAttachmentRepository,
    private readonly uploads: UploadsService,
    private readonly batches: SendRequestBatches,
    private readonly jobs: JobProducer,
    private readonly tenant: TenantContext,
  ) {}

  async sendMessage(dto: ComposeMessageDto, idempotencyKey: string | null): Promise<SendResult> {
    this.assertSendingEnabled();
    const to = toMailboxes(dto.to);
    const cc = toMailboxes(dto.cc);
    const bcc = toMailboxes(dto.bcc);
    if (to.length + cc.length + bcc.length === 0)
      throw new BadRequestException('At least one recipient (to, cc or bcc) is required');
    const inline = decodeAttachments(dto);
    const sendAt = sendHeldUntil(dto.sendAt, this.config.mail.undoSendMs, Date.now());

    const idempotency = idempotentRequest(idempotencyKey, 'compose', dto);
    const contentFor = (account: MailAccount, attachments: SendContent['attachments']): SendContent => ({
      from: { name: account.displayName ?? '', address: account.email },
      to,
      cc,
      bcc,
      replyTo: toMailboxes(dto.replyTo),
      subject: dto.subject ?? '',
      text: dto.text ?? null,
      html: dto.html ?? null,
      inReplyTo: dto.inReplyTo ?? null,
      references: replyReferences(dto.inReplyTo, dto.references),
      attachments,
    });

    if (inline.length === 0 && (dto.attachmentIds ?? []).length === 0) {
      // Nothing to store besides the record: the account lookup and the idempotent insert are one
      // round trip each, shared with the other requests in flight, and a replay is answered by the
      // insert that finds the key taken.
      assertWithinSizeLimit(this.config.mail.maxMessageBytes, dto.text, dto.html, []);
      const account = await this.batches.account(dto.accountId);
      if (!account) throw new AccountNotFoundError(dto.accountId, `Account ${dto.accountId} not found`);
      const result = await this.batches.createIdempotent({
        values: {
          accountId: account.id,
          draftId: null,
          messageId: newMessageId(account),
          content: contentFor(account, []),
          sendAt,
        },
        idempotencyKey,
        requestFingerprint: idempotency?.fingerprint ?? null,
      });
      if (!result.created) assertSameRequest(result.record, idempotency);
      return this.enqueue(result);
    }

    // A replay must not store the attachments again only to find the key taken.
    const replay = await this.replayOf(idempotency);
    if (replay) return replay;
    const account = await this.accountOrFail(dto.accountId);
    const creation = await this.scope.transaction(async () => {
      const uploaded = await this.uploads.referenced(account.id, dto.attachmentIds);
      assertWithinSizeLimit(this.config.mail.maxMessageBytes, dto.text, dto.html, [
        ...inline.map((file) => ({ size: file.content.length })),
        ...uploaded,
      ]);
      const stored = await this.storedAttachments.store(account.id, inline);
      const result = await this.sendRecords.createIdempotent(
        {
          accountId: account.id,
          draftId: null,
          messageId: newMessageId(account),
          content: contentFor(account, [...stored, ...uploaded]),
          sendAt,
        },
        idempotencyKey,
        idempotency?.fingerprint,
      );
      // Thrown inside the transaction, so the attachments stored above are rolled back with it.
      if (!result.created) assertSameRequest(result.record, idempotency);
      // Lost a race for the key: the inline bytes stored for this request belong to nothing (the uploads stay for the client to use).
      if (!result.created) await this.storedAttachments.deleteUnreferenced(stored.map((ref) => ref.storageKey));
      return result;
    });
    return this.enqueue(creation);
  }

  async sendDraft(
    draftId: string,
    requestedSendAt: string | undefined,
    idempotencyKey: string | null,
  ): Promise<SendResult> {
    this.assertSendingEnabled();
    const sendAt = sendHeldUntil(requestedSendAt, this.config.mail.undoSendMs, Date.now());
    // Without sendAt the request is the draft id alone, as before sendAt existed, so keys stored then still match.
    const idempotency = idempotentRequest(
      idempotencyKey,
      'send-draft',
      requestedSendAt === undefined ? draftId : { draftId, sendAt: requestedSendAt },
    );
    const replay = await this.replayOf(idempotency);
    if (replay) return replay;
    const creation = await this.scope.transaction(async (): Promise<SendRecordCreation> => {
      // The row lock serialises double clicks on "send": the second sees the first one's record.
      const draft = await this.drafts.findByIdForUpdate(draftId);
      if (!draft) throw new DraftNotFoundError(draftId);
      const live = await this.sendRecords.findLiveForDraft(draftId);
      if (live) {
        // The send that won the race may have come without a key; bind ours to it so a replay
        // after the draft is gone still finds it.
        if (idempotency && live.idempotencyKey === null)
          await this.sendRecords.attachIdempotencyKey(live.id, idempotency.key, idempotency.fingerprint);
        return { record: live, created: false };
      }
      if (draft.to.length + draft.cc.length + draft.bcc.length === 0)
        throw new BadRequestException('The draft has no recipients');
      assertWithinSizeLimit(this.config.mail.maxMessageBytes, draft.textBody, draft.htmlBody, draft.attachments);
      const account = await this.accountOrFail(draft.accountId);
      const content = draftSendContent(draft, account);
      const result = await this.sendRecords.createIdempotent(
        { accountId: account.id, draftId, messageId: newMessageId(account), content, sendAt },
        idempotencyKey,
        idempotency?.fingerprint,
      );
      if (!result.created) assertSameRequest(result.record, idempotency);
      return result;
    });
    return this.enqueue(creation);
  }

  /** The record with what bounce and delay notices said about its recipients. */
  async findSendRecord(id: string): Promise<SendRecordWithReports> {
    const record = await this.sendRecords.findById(id);
    if (!record) throw new SendNotFoundError(id);
    return { record, reports: await this.deliveryReports.forSend(id) };
  }

  /**
   * Stops a send that has not left: queued → cancelled, its job removed unless a worker holds it
   * (which then finds the record cancelled and stops). Cancelling a cancelled send answers it
   * again; a send a worker has claimed or sent answers 409 `send_already_sent`.
   */
  async cancel(id: string): Promise<SendRecord> {
    const cancelled = await this.sendRecords.cancelQueued(id);
    if (!cancelled) {
      const { record } = await this.findSendRecord(id);
      if (record.state === 'cancelled') return record;
      if (record.state === 'failed') throw new SendAlreadyFailedError(id);
      throw new SendAlreadySentError(id, record.state);
    }
    try {
      await this.jobs.removeUnlessRunning(JobName.SendEmail, { tenantId: this.tenant.tenantId, sendRecordId: id });
    } catch (error: unknown) {
      this.logger.warn(
        { err: error, sendRecordId: id },
        'Send cancelled, but its job could not be removed; it will find the send cancelled',
      );
    }
    // Bytes stored for this send alone (inline attachments of POST /api/compose); a draft's stay with the draft.
    await this.storedAttachments.deleteUnreferenced(
      cancelled.content.attachments.map((attachment) => attachment.storageKey),
    );
    return cancelled;
  }

  /** The send an earlier request with this key created, provided it asked for the same thing (else 422). */
  private async replayOf(idempotency: IdempotentRequest | null): Promise<SendResult | null> {
    if (idempotency === null) return null;
    const record = await this.sendRecords.findByIdempotencyKey(idempotency.key);
    if (!record) return null;
    assertSameRequest(record, idempotency);
    return { record, created: false };
  }

  /**
   * Enqueued after the commit, so the worker always finds the row. A replay enqueues again when
   * the record is still queued: the job id is the record's, so this adds nothing if the job
   * exists and repairs the rare case where the first request died between commit and enqueue.
   *
   * Once committed the send is accepted even when its job cannot be queued (queue Redis away):
   * the scheduler's reconciliation queues it within RECONCILE_SECONDS of Redis being back, so
   * answering an error would only invite the client to send the message a second time.
   */
  private async enqueue(creation: SendRecordCreation): Promise<SendResult> {
    if (!creation.created && creation.record.state !== 'queued') return creation;
    const heldMs = creation.record.sendAt ? Math.max(0, creation.record.sendAt.getTime() - Date.now()) : 0;
    try {
      await this.batches.enqueueSend(creation.record.id, heldMs);
    } catch (error: unknown) {
      this.logger.warn(
        { err: error, sendRecordId: creation.record.id },
        'Send stored, but its job could not be queued; reconciliation will queue it',
      );
    }
    return creation;
  }

  private assertSendingEnabled(): void {
    if (!this.config.features.smtpSend)
      throw new ServiceUnavailableException(
        'Sending is disabled on this server (ENABLE_SMTP_SEND=false); nothing was stored or queued',
      );
    if (!this.config.features.backgroundJobs) {
      throw new ServiceUnavailableException(
        'Background jobs are disabled on this server (ENABLE_BACKGROUND_JOBS=false), so sends cannot be queued; nothing was stored',
      );
    }
  }

  private async accountOrFail(accountId: string): Promise<MailAccount> {
    const account = await this.accounts.findById(accountId);
    if (!account) throw new AccountNotFoundError(accountId, `Account ${accountId} not found`);
    return account;
  }
}

function newMessageId(account: Pick<MailAccount, 'email'>): string {
  return `<${randomUUID()}@${messageIdDomain(account.email)}>`;
}
