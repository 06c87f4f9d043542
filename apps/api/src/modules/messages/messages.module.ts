import { MailModule } from '@app/mail';
import { Module } from '@nestjs/common';

import { MessageAttachmentsService } from './attachments/message-attachments.service.js';

import { MessageActionsService } from './message-actions.service.js';
import { MessagesController } from './messages.controller.js';
import { MessagesService } from './messages.service.js';

@Module({
  imports: [MailModule],
  controllers: [MessagesController],
  providers: [MessagesService, MessageAttachmentsService, MessageActionsService],
  exports: [MessagesService],
})
export class MessagesModule {}
