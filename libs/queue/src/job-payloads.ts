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

export interface JobPayloads {
  [JobName.SyncAccount]: SyncAccountPayload;
  [JobName.ParseMessage]: ParseMessagePayload;
}
