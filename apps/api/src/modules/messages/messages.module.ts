import { MailModule } from '@app/mail';
import { Module } from '@nestjs/common';

import { MessageDownloadsService } from './attachments/message-downloads.service.js';
import { MessageActionsService } from './message-actions.service.js';
import { MessagesController } from './messages.controller.js';
import { MessagesService } from './messages.service.js';

@Module({
  imports: [MailModule],
  controllers: [MessagesController],
  providers: [MessagesService, MessageDownloadsService, MessageActionsService],
  exports: [MessagesService],
})
export class MessagesModule {}
