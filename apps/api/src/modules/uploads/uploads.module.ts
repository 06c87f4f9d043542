import { Module } from '@nestjs/common';

import { UploadsController } from './uploads.controller.js';
import { UploadsService } from './uploads.service.js';

/** Exports the lookup of uploaded attachments by id, which sends and drafts make when they name them. */
@Module({
  controllers: [UploadsController],
  providers: [UploadsService],
  exports: [UploadsService],
})
export class UploadsModule {}
