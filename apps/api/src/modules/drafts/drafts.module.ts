import { Module } from '@nestjs/common';

import { UploadsModule } from '../uploads/uploads.module.js';
import { DraftsController } from './drafts.controller.js';
import { DraftsService } from './drafts.service.js';

@Module({
  imports: [UploadsModule],
  controllers: [DraftsController],
  providers: [DraftsService],
})
export class DraftsModule {}
