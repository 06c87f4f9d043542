import { AppConfig } from '@app/config';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { dataSourceOptions } from './data-source-options.js';
import { ChangeNotifications } from './change-notifications.js';
import { StrayConnectionErrors } from './stray-connection-errors.js';
import { AccountRepository } from './repositories/account.repository.js';
import { AdvisoryLockRepository } from './repositories/advisory-lock.repository.js';
import { BulkActionRepository } from './repositories/bulk-action.repository.js';
import { ChangeLogRepository } from './repositories/change-log.repository.js';
import { FolderReadRepository } from './repositories/folder-read.repository.js';
import { FolderRepository } from './repositories/folder.repository.js';
import { MessageActionRepository } from './repositories/message-action.repository.js';
import { MessageReadRepository } from './repositories/message-read.repository.js';
import { MessageRepository } from './repositories/message.repository.js';
import { SyncRunRepository } from './repositories/sync-run.repository.js';
import { TenantRepository } from './repositories/tenant.repository.js';
import { ThreadLookupRepository } from './repositories/thread-lookup.repository.js';
import { DraftRepository } from './repositories/draft.repository.js';
import { SendDeliveryReportRepository } from './repositories/send-delivery-report.repository.js';
import { SendRecordRepository } from './repositories/send-record.repository.js';
import { StoredAttachmentRepository } from './repositories/stored-attachment.repository.js';
import { WebhookCursorRepository } from './repositories/webhook-cursor.repository.js';
import { WebhookDeliveryRepository } from './repositories/webhook-delivery.repository.js';
import { WebhookRepository } from './repositories/webhook.repository.js';
import { WatchLeaseRepository } from './repositories/watch-lease.repository.js';

const REPOSITORIES = [
  AccountRepository,
  AdvisoryLockRepository,
  ChangeLogRepository,
  TenantRepository,
  FolderRepository,
  MessageRepository,
  SyncRunRepository,
  MessageReadRepository,
  FolderReadRepository,
  DraftRepository,
  SendRecordRepository,
  SendDeliveryReportRepository,
  StoredAttachmentRepository,
  MessageActionRepository,
  BulkActionRepository,
  ThreadLookupRepository,
  WebhookRepository,
  WebhookDeliveryRepository,
  WebhookCursorRepository,
  WatchLeaseRepository,
];

@Module({})
export class DatabaseModule {
  /** `applicationName` shows up in pg_stat_activity, so operators can tell the apps' connections apart. */
  static forRoot(applicationName: string): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => dataSourceOptions(config, applicationName),
        }),
      ],
      providers: [
        ...REPOSITORIES,
        StrayConnectionErrors,
        {
          provide: ChangeNotifications,
          inject: [AppConfig],
          useFactory: (config: AppConfig) => new ChangeNotifications(config.databaseUrl, applicationName),
        },
      ],
      exports: [...REPOSITORIES, ChangeNotifications],
    };
  }
}
