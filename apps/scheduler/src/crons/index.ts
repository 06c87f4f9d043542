import type { Type } from '@nestjs/common';

import { AttachmentPurgeCron } from './attachment-purge.cron.js';
import { ChangeLogRetentionCron } from './change-log-retention.cron.js';
import { PeriodicSyncCron } from './periodic-sync.cron.js';
import { ReconcileCron } from './reconcile.cron.js';
import { ReconciledKinds } from './reconciled-kinds.js';
import { TenantSweep } from './tenant-sweep.js';

/** Every cron of the scheduler; each takes a lock so one replica acts, does its short part and returns. */
export const CRONS: Type[] = [PeriodicSyncCron, AttachmentPurgeCron, ChangeLogRetentionCron, ReconcileCron];

/** What the crons need besides the libs' modules. */
export const CRON_PROVIDERS: Type[] = [TenantSweep, ReconciledKinds];
