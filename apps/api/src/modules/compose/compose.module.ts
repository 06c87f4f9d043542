import { Module } from '@nestjs/common';

import { AttachmentsService } from './attachments.service.js';
import { ComposeController } from './compose.controller.js';
import { ComposeService } from './compose.service.js';
import { DraftsService } from './drafts.service.js';
import { SendRequestBatches } from './send-request-batches.js';

@Module({
  controllers: [ComposeController],
  providers: [AttachmentsService, ComposeService, DraftsService, SendRequestBatches],
})
export class ComposeModule {}
