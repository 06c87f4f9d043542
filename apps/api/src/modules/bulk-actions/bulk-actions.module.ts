import { Module } from '@nestjs/common';

import { BulkActionsController } from './bulk-actions.controller.js';
import { BulkActionsService } from './bulk-actions.service.js';

/** Bulk message actions; their selection speaks the query language of search. */
@Module({
  controllers: [BulkActionsController],
  providers: [BulkActionsService],
})
export class BulkActionsModule {}
