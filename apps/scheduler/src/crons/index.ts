import type { Type } from '@nestjs/common';

/** Every cron of the scheduler; each takes a lock, enqueues jobs and returns. */
export const CRONS: Type[] = [];
