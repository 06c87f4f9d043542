import { Module } from '@nestjs/common';

import { MailboxesController } from './mailboxes.controller.js';
import { MailboxesService } from './mailboxes.service.js';

@Module({ controllers: [MailboxesController], providers: [MailboxesService] })
export class MailboxesModule {}
