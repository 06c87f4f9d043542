import { MailModule } from '@app/mail';
import { Module } from '@nestjs/common';

import { MailboxesController } from './mailboxes.controller.js';
import { MailboxesService } from './mailboxes.service.js';

@Module({ imports: [MailModule], controllers: [MailboxesController], providers: [MailboxesService] })
export class MailboxesModule {}
