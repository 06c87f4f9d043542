import { Module } from '@nestjs/common';

import { SyncController } from './sync.controller.js';
import { SyncService } from './sync.service.js';

/** POST /api/sync/imap/{accountId} and GET /api/sync/status/{accountId}; the sync itself runs in the worker. */
@Module({
  controllers: [SyncController],
  providers: [SyncService],
})
export class SyncModule {}
