import type { Type } from '@nestjs/common';

import { AttachmentPurgeCron } from './attachment-purge.cron.js';
import { PeriodicSyncCron } from './periodic-sync.cron.js';
import { UnsettledActionCron } from './unsettled-action.cron.js';

/** Every cron of the scheduler; each takes a lock so one replica acts, does its short part and returns. */
export const CRONS: Type[] = [PeriodicSyncCron, AttachmentPurgeCron, UnsettledActionCron];
