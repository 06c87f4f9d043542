import { ConfigModule } from '@app/config';
import { CryptoModule } from '@app/crypto';
import type { AppConfig } from '@app/config';
import { DatabaseModule } from '@app/database';
import { LoggingModule } from '@app/observability';
import { RequestQueueModule } from '@app/queue';
import { RedisModule } from '@app/redis';
import { TenancyModule } from '@app/tenancy';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';

import { AuthModule } from './auth/auth.module.js';
import { AllExceptionsFilter } from './common/all-exceptions.filter.js';
import { requestValidationPipe } from './common/optional-body.js';
import { SafeInputPipe } from './common/safe-input.pipe.js';
import { AccountsModule } from './modules/accounts/accounts.module.js';
import { BulkActionsModule } from './modules/bulk-actions/bulk-actions.module.js';
import { DraftsModule } from './modules/drafts/drafts.module.js';
import { HealthModule } from './modules/health/health.module.js';
import { MailboxesModule } from './modules/mailboxes/mailboxes.module.js';
import { MessagesModule } from './modules/messages/messages.module.js';
import { OAuthModule } from './modules/oauth/oauth.module.js';
import { ApiMetricsModule } from './modules/metrics/metrics.module.js';
import { SearchModule } from './modules/search/search.module.js';
import { SendsModule } from './modules/sends/sends.module.js';
import { ChangesModule } from './modules/changes/changes.module.js';
import { EventsModule } from './modules/events/events.module.js';
import { SyncModule } from './modules/sync/sync.module.js';
import { ThreadsModule } from './modules/threads/threads.module.js';
import { UploadsModule } from './modules/uploads/uploads.module.js';
import { WebhooksModule } from './modules/webhooks/webhooks.module.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';

@Module({})
export class ApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot('api'),
        DatabaseModule.forRoot('email_service-api'),
        RedisModule,
        TenancyModule,
        CryptoModule,
        RequestQueueModule,
        // Guard order: rate limits count every caller, including those without a valid token.
        RateLimitModule,
        AuthModule,
        HealthModule,
        ApiMetricsModule,
        MailboxesModule,
        BulkActionsModule,
        MessagesModule,
        SearchModule,
        ThreadsModule,
        AccountsModule,
        OAuthModule,
        SendsModule,
        DraftsModule,
        UploadsModule,
        SyncModule,
        ChangesModule,
        WebhooksModule,
        EventsModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        // Global pipes run in this order: text PostgreSQL cannot store and prototype keys are refused first.
        { provide: APP_PIPE, useClass: SafeInputPipe },
        { provide: APP_PIPE, useValue: requestValidationPipe() },
      ],
    };
  }
}
