import { AppConfig } from '@app/config';
import { AccountRepository, DraftRepository, SendRecordRepository, StoredAttachmentRepository } from '@app/database';
import type { Draft, DraftContent, NewStoredAttachment, Page, StoredAttachmentRef } from '@app/database';
import { AccountNotFoundError, replyReferences } from '@app/mail';
import { JobName, JobProducer } from '@app/queue';
import { TenantContext, TenantScope } from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';

import { assertWithinSizeLimit, decodeAttachments } from '../../common/message-fields/message-content.js';
import type { MessageFieldsDto } from '../../common/message-fields/message-fields.dto.js';
import { toMailboxes } from '../../common/message-fields/recipients.js';
import { UploadsService } from '../uploads/uploads.service.js';
import type { CreateDraftDto, UpdateDraftDto } from './dto/draft.dto.js';
import { DraftBeingSentError, DraftNotFoundError, DraftVersionConflictError } from './errors.js';

/**
 * Drafts live in PostgreSQL; the worker mirrors each one into the account's IMAP Drafts folder
 * (a sync-draft job per change), so other mail clients see them too.
 */
@Injectable()
export class DraftsService {
  private readonly logger = new Logger(DraftsService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly scope: TenantScope,
    private readonly tenant: TenantContext,
    private readonly accounts: AccountRepository,
    private readonly drafts: DraftRepository,
    private readonly sendRecords: SendRecordRepository,
    private readonly storedAttachments: StoredAttachmentRepository,
    private readonly uploads: UploadsService,
    private readonly jobs: JobProducer,
  ) {}

  async create(dto: CreateDraftDto): Promise<Draft> {
    const inline = decodeAttachments(dto);
    const account = await this.accounts.findById(dto.accountId);
    if (!account) throw new AccountNotFoundError(dto.accountId, `Account ${dto.accountId} not found`);
    const draft = await this.scope.transaction(async () => {
      const attachments = await this.storeAttachments(account.id, dto, inline);
      return this.drafts.create(account.id, { ...contentOf(dto), attachments });
    });
    await this.mirror(draft);
    return draft;
  }

  async list(accountId: string | undefined, limit: number, cursor?: string): Promise<Page<Draft>> {
    return this.drafts.list(accountId, limit, cursor);
  }

  async get(id: string): Promise<Draft> {
    const draft = await this.drafts.findById(id);
    if (!draft) throw new DraftNotFoundError(id);
    return draft;
  }

  async update(id: string, dto: UpdateDraftDto): Promise<Draft> {
    const inline = decodeAttachments(dto);
    const { draft, previousKeys } = await this.scope.transaction(async () => {
      const current = await this.drafts.findByIdForUpdate(id);
      if (!current) throw new DraftNotFoundError(id);
      await this.assertNotBeingSent(id);
      if (current.version !== dto.version) throw new DraftVersionConflictError(id, dto.version, current.version);
      const attachments = await this.storeAttachments(current.accountId, dto, inline);
      const result = await this.drafts.update(id, dto.version, { ...contentOf(dto), attachments });
      if (result.state === 'not-found') throw new DraftNotFoundError(id);
      if (result.state === 'stale') throw new DraftVersionConflictError(id, dto.version, result.currentVersion);
      return { draft: result.draft, previousKeys: current.attachments.map((attachment) => attachment.storageKey) };
    });
    await this.storedAttachments.deleteUnreferenced(previousKeys);
    await this.mirror(draft);
    return draft;
  }

  async delete(id: string): Promise<void> {
    const deleted = await this.scope.transaction(async () => {
      const current = await this.drafts.findByIdForUpdate(id);
      if (!current) throw new DraftNotFoundError(id);
      await this.assertNotBeingSent(id);
      return this.drafts.delete(id);
    });
    if (!deleted) throw new DraftNotFoundError(id);
    await this.storedAttachments.deleteUnreferenced(deleted.attachments.map((attachment) => attachment.storageKey));
    await this.mirror(deleted, true);
  }

  /** Inline attachments stored, then the ones named by id; called in the transaction that saves the draft. */
  private async storeAttachments(
    accountId: string,
    dto: MessageFieldsDto,
    inline: NewStoredAttachment[],
  ): Promise<StoredAttachmentRef[]> {
    const named = await this.uploads.referenced(accountId, dto.attachmentIds);
    assertWithinSizeLimit(this.config.mail.maxMessageBytes, dto.text, dto.html, [
      ...inline.map((file) => ({ size: file.content.length })),
      ...named,
    ]);
    return [...(await this.storedAttachments.store(accountId, inline)), ...named];
  }

  private async assertNotBeingSent(id: string): Promise<void> {
    const live = await this.sendRecords.findLiveForDraft(id);
    if (live) throw new DraftBeingSentError(id, live.id, live.state);
  }

  /**
   * The IMAP side follows when background jobs run; the draft in PostgreSQL is the source of truth
   * either way. A mirror job that cannot be queued now (queue Redis away) is queued by the
   * scheduler's reconciliation later, so the saved change is not answered with an error.
   */
  private async mirror(draft: Draft, removed = false): Promise<void> {
    if (!this.config.features.backgroundJobs) return;
    try {
      await this.jobs.enqueue(JobName.SyncDraft, {
        tenantId: this.tenant.tenantId,
        accountId: draft.accountId,
        draftId: draft.id,
        version: draft.version,
        removed,
      });
    } catch (error: unknown) {
      this.logger.warn(
        { err: error, draftId: draft.id },
        'Draft saved, but its mirror job could not be queued; reconciliation will queue it',
      );
    }
  }
}

function contentOf(dto: MessageFieldsDto): Omit<DraftContent, 'attachments'> {
  return {
    to: toMailboxes(dto.to),
    cc: toMailboxes(dto.cc),
    bcc: toMailboxes(dto.bcc),
    subject: dto.subject ?? '',
    textBody: dto.text ?? null,
    htmlBody: dto.html ?? null,
    inReplyTo: dto.inReplyTo ?? null,
    references: replyReferences(dto.inReplyTo, dto.references),
  };
}
