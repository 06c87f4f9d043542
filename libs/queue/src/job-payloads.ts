import type { JobName } from './queue-names.js';

/** Every job names its tenant: the worker sets it on the database session before touching data. */
interface TenantScopedPayload {
  tenantId: string;
}

export interface SyncAccountPayload extends TenantScopedPayload {
  accountId: string;
  trigger: 'manual' | 'schedule' | 'push';
  /** Limit the run to one folder path; all folders when absent. */
  folder?: string;
  /** Ignore stored sync state and fetch every message again. */
  full?: boolean;
  syncRunId?: string;
}

export interface ParseMessagePayload extends TenantScopedPayload {
  messageId: string;
}

export interface SendEmailPayload extends TenantScopedPayload {
  sendRecordId: string;
}

export interface SyncDraftPayload extends TenantScopedPayload {
  accountId: string;
  draftId: string;
  /** The draft version the job was enqueued for; the job always mirrors the latest state. */
  version: number;
  /** Enqueued because the draft was deleted (its last version stays the same, so it needs a job id of its own). */
  removed?: boolean;
}

/** A flag change, move or delete already applied to PostgreSQL, to be applied to the IMAP server. */
export interface ApplyMessageActionPayload extends TenantScopedPayload {
  accountId: string;
  messageId: string;
  actionId: string;
}

/** A bulk action whose members are already changed in PostgreSQL, to be applied to the IMAP server. */
export interface ApplyBulkActionPayload extends TenantScopedPayload {
  accountId: string;
  bulkActionId: string;
}

/** A webhook delivery due to go out; it goes only while it is the oldest pending one of its (webhook, account). */
export interface DeliverWebhookPayload extends TenantScopedPayload {
  webhookId: string;
  accountId: string;
  deliveryId: string;
}

export interface JobPayloads {
  [JobName.SyncAccount]: SyncAccountPayload;
  [JobName.ParseMessage]: ParseMessagePayload;
  [JobName.SendEmail]: SendEmailPayload;
  [JobName.SyncDraft]: SyncDraftPayload;
  [JobName.ApplyMessageAction]: ApplyMessageActionPayload;
  [JobName.ApplyBulkAction]: ApplyBulkActionPayload;
  [JobName.DeliverWebhook]: DeliverWebhookPayload;
}
