import { AppConfig } from '@app/config';
import { Logger, Module } from '@nestjs/common';

import { AccountMailSettings } from './account-mail-settings.js';
import { OutboundPolicy } from './egress/outbound-policy.js';
import { PolicyHttpClient } from './egress/policy-http-client.js';
import { ImapConnectionPool } from './imap/imap-connection-pool.js';
import { MimeParserPool } from './mime/parse/mime-parser-pool.js';
import { AccountTokens } from './oauth/account-tokens.js';
import { OAuthTokenEndpoint } from './oauth/oauth-token-endpoint.js';
import { SmtpTransportPool } from './smtp/smtp-transport-pool.js';

/** Logged out after this long unused; servers drop idle sessions after 30 minutes at the earliest (RFC 9051 section 5.4). */
const IMAP_IDLE_TIMEOUT_MS = 2 * 60_000;
/** Reused within this long after its last command, a connection is taken to be alive without a NOOP round trip. */
const IMAP_CHECK_AFTER_MS = 15_000;

/** Per-account IMAP/SMTP access; relies on the global DatabaseModule, CryptoModule and TenancyModule. */
@Module({
  providers: [
    AccountMailSettings,
    AccountTokens,
    OAuthTokenEndpoint,
    PolicyHttpClient,
    MimeParserPool,
    SmtpTransportPool,
    {
      provide: OutboundPolicy,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        if (config.isProduction && config.outbound.policy === 'any') {
          new Logger('OutboundPolicy').warn(
            'OUTBOUND_POLICY=any in production: tenants can make this service connect to internal addresses',
          );
        }
        return new OutboundPolicy(config.outbound);
      },
    },
    {
      provide: ImapConnectionPool,
      inject: [AppConfig, OutboundPolicy],
      useFactory: (config: AppConfig, policy: OutboundPolicy) =>
        new ImapConnectionPool({
          size: config.mail.imapPoolSize,
          timeoutMs: config.mail.imapTimeoutMs,
          idleTimeoutMs: IMAP_IDLE_TIMEOUT_MS,
          checkAfterMs: IMAP_CHECK_AFTER_MS,
          policy,
        }),
    },
  ],
  exports: [
    AccountMailSettings,
    OAuthTokenEndpoint,
    MimeParserPool,
    SmtpTransportPool,
    ImapConnectionPool,
    OutboundPolicy,
    PolicyHttpClient,
  ],
})
export class MailModule {}
