import type { Type } from '@nestjs/common';

import { PeriodicSyncCron } from './periodic-sync.cron.js';

/** Every cron of the scheduler; each takes a lock, enqueues jobs and returns. */
export const CRONS: Type[] = [PeriodicSyncCron];
