import { Module } from '@nestjs/common';

import { AccountMailSettings } from './account-mail-settings.js';
import { MimeParserPool } from './mime/parse/mime-parser-pool.js';
import { SmtpTransportPool } from './smtp/smtp-transport-pool.js';

/** Per-account IMAP/SMTP access; relies on the global DatabaseModule, CryptoModule and TenancyModule. */
@Module({
  providers: [AccountMailSettings, MimeParserPool, SmtpTransportPool],
  exports: [AccountMailSettings, MimeParserPool, SmtpTransportPool],
})
export class MailModule {}
