import { MailModule } from '@app/mail';
import { Module } from '@nestjs/common';

import { AccountsController } from './accounts.controller.js';
import { AccountsService } from './accounts.service.js';
import { ProvidersController } from './providers.controller.js';

@Module({
  imports: [MailModule],
  controllers: [AccountsController, ProvidersController],
  providers: [AccountsService],
  exports: [AccountsService],
})
export class AccountsModule {}
