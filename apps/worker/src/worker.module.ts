import { ConfigModule } from '@app/config';
import { CryptoModule } from '@app/crypto';
import type { AppConfig } from '@app/config';
import { DatabaseModule } from '@app/database';
import { MailModule } from '@app/mail';
import { HealthCheckModule, LoggingModule, MetricsModule } from '@app/observability';
import { QueueModule } from '@app/queue';
import { RedisModule } from '@app/redis';
import { TenancyModule } from '@app/tenancy';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';

import { ACTION_PROVIDERS } from './actions/index.js';
import { DRAFT_PROVIDERS } from './drafts/index.js';
import { MAILBOX_PROVIDERS } from './mailbox/index.js';
import { PARSE_PROVIDERS } from './parse/index.js';
import { processorProviders } from './processors/index.js';
import { SEND_PROVIDERS } from './send/index.js';
import { SYNC_PROVIDERS } from './sync/index.js';
import { WEBHOOK_PROVIDERS } from './webhooks/index.js';
import { WatchModule } from './watch/watch.module.js';

@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot('worker'),
        DatabaseModule.forRoot('email_service-worker'),
        RedisModule,
        TenancyModule,
        CryptoModule,
        QueueModule,
        MailModule,
        HealthCheckModule.forApp('worker'),
        MetricsModule.forApp('worker'),
        WatchModule,
      ],
      providers: [
        ...SYNC_PROVIDERS,
        ...PARSE_PROVIDERS,
        ...MAILBOX_PROVIDERS,
        ...SEND_PROVIDERS,
        ...DRAFT_PROVIDERS,
        ...ACTION_PROVIDERS,
        ...WEBHOOK_PROVIDERS,
        ...processorProviders(config),
      ],
    };
  }
}
