import { Module } from '@nestjs/common';

import { UploadsModule } from '../uploads/uploads.module.js';
import { SendRequestBatches } from './send-request-batches.js';
import { SendsController } from './sends.controller.js';
import { SendsService } from './sends.service.js';

@Module({
  imports: [UploadsModule],
  controllers: [SendsController],
  providers: [SendsService, SendRequestBatches],
  exports: [SendsService],
})
export class SendsModule {}
