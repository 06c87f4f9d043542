import { AccountWatchLease } from './account-watch-lease.entity.js';
import { BulkAction } from './bulk-action.entity.js';
import { Draft } from './draft.entity.js';
import { MailAccount } from './mail-account.entity.js';
import { MailAttachment } from './mail-attachment.entity.js';
import { MailFolder } from './mail-folder.entity.js';
import { MailMessage } from './mail-message.entity.js';
import { MailMessageAction } from './mail-message-action.entity.js';
import { MailMessageReference } from './mail-message-reference.entity.js';
import { SendDeliveryReport } from './send-delivery-report.entity.js';
import { SendRecord } from './send-record.entity.js';
import { SyncRun } from './sync-run.entity.js';
import { Tenant } from './tenant.entity.js';
import { Webhook } from './webhook.entity.js';
import { WebhookDelivery } from './webhook-delivery.entity.js';

export * from './account-watch-lease.entity.js';
export * from './bulk-action.entity.js';
export * from './draft.entity.js';
export * from './mail-account.entity.js';
export * from './mail-attachment.entity.js';
export * from './mail-folder.entity.js';
export * from './mail-message.entity.js';
export * from './mail-message-action.entity.js';
export * from './mail-message-reference.entity.js';
export * from './send-delivery-report.entity.js';
export * from './send-record.entity.js';
export * from './sync-run.entity.js';
export * from './tenant.entity.js';
export * from './webhook.entity.js';
export * from './webhook-delivery.entity.js';

export const ENTITIES = [
  Tenant,
  MailAccount,
  MailFolder,
  MailMessage,
  MailMessageReference,
  MailAttachment,
  MailMessageAction,
  BulkAction,
  Draft,
  SendRecord,
  SendDeliveryReport,
  SyncRun,
  Webhook,
  WebhookDelivery,
  AccountWatchLease,
];
