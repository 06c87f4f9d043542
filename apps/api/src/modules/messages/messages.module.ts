import { MailModule } from '@app/mail';
import { Module } from '@nestjs/common';

import { MessageDownloadsService } from './attachments/message-downloads.service.js';
import { SendsModule } from '../sends/sends.module.js';
import { MessageActionsService } from './message-actions.service.js';
import { MessageUnsubscribeService } from './message-unsubscribe.service.js';
import { MessagesController } from './messages.controller.js';
import { MessagesService } from './messages.service.js';

@Module({
  imports: [MailModule, SendsModule],
  controllers: [MessagesController],
  providers: [MessagesService, MessageDownloadsService, MessageActionsService, MessageUnsubscribeService],
  exports: [MessagesService],
})
export class MessagesModule {}
