import { Module } from '@nestjs/common';

import { AccountMailSettings } from './account-mail-settings.js';

/** Per-account IMAP/SMTP access; relies on the global DatabaseModule, CryptoModule and TenancyModule. */
@Module({
  providers: [AccountMailSettings],
  exports: [AccountMailSettings],
})
export class MailModule {}
