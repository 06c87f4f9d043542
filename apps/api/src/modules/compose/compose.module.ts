import { Module } from '@nestjs/common';

import { ComposeController } from './compose.controller.js';
import { ComposeService } from './compose.service.js';
import { DraftsService } from './drafts.service.js';

@Module({
  controllers: [ComposeController],
  providers: [ComposeService, DraftsService],
})
export class ComposeModule {}
