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

/** A flag change, move or delete already applied to PostgreSQL, to be applied to the IMAP server. */
export interface ApplyMessageActionPayload extends TenantScopedPayload {
  accountId: string;
  messageId: string;
  actionId: string;
}

export interface JobPayloads {
  [JobName.SyncAccount]: SyncAccountPayload;
  [JobName.ParseMessage]: ParseMessagePayload;
  [JobName.ApplyMessageAction]: ApplyMessageActionPayload;
}
