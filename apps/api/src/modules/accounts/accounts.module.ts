import { MailModule } from '@app/mail';
import { Module } from '@nestjs/common';

import { AccountsController } from './accounts.controller.js';
import { AccountsService } from './accounts.service.js';

@Module({
  imports: [MailModule],
  controllers: [AccountsController],
  providers: [AccountsService],
})
export class AccountsModule {}
