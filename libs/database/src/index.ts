export { provisionAppRole } from './app-role.js';
export { errorChain, isDatabaseUnavailable, isSocketError } from './database-unavailable.js';
export {
  BulkActionTooLargeError,
  DuplicateAccountError,
  InvalidCursorError,
  MessageActionBusyError,
  MessageActionTargetNotFoundError,
  MessageScopeNotFoundError,
} from './errors.js';
export type { DatabaseErrorCode } from './errors.js';
export { GroupCommit } from './group-commit.js';
export { DatabaseModule } from './database.module.js';
export { dataSourceOptions, migrationDataSourceOptions } from './data-source-options.js';
export * from './entities/index.js';
export { AccountRepository } from './repositories/account.repository.js';
export { AdvisoryLockRepository, LOCK_HELD_ELSEWHERE } from './repositories/advisory-lock.repository.js';
export type { AuthColumns, MailAccountChanges } from './repositories/account.repository.js';
export { encodeCursor } from './repositories/keyset-cursor.js';
export type { Page } from './repositories/keyset-cursor.js';
export { ChangeNotifications } from './change-notifications.js';
export type { ChangeNotice } from './change-notifications.js';
export { ChangeLogRepository } from './repositories/change-log.repository.js';
export type { ChangeEntry, ChangeLogPosition, ChangeOp, ChangeType } from './repositories/change-log.repository.js';
export { TenantRepository } from './repositories/tenant.repository.js';
export { FolderRepository, NEWEST_PAGE } from './repositories/folder.repository.js';
export type { UidRange } from './repositories/folder.repository.js';
export { MessageRepository } from './repositories/message.repository.js';
export type {
  BatchWriteResult,
  FlagChange,
  FolderPosition,
  FolderProgress,
  MessageLocation,
  NewMailAttachment,
  SyncedMessage,
  ThreadMerge,
} from './repositories/message.repository.js';
export { ThreadLookupRepository } from './repositories/thread-lookup.repository.js';
export type { ThreadBySubject } from './repositories/thread-lookup.repository.js';
export { SyncRunRepository } from './repositories/sync-run.repository.js';
export type { MessageFilter } from './repositories/message-filter.js';
export { MessageReadRepository } from './repositories/message-read.repository.js';
export type {
  AttachmentSourceRow,
  MessageDetailRow,
  MessageListCriteria,
  MessageSourceRow,
  MessageSummaryRow,
  ThreadSummaryRow,
} from './repositories/message-read.repository.js';
export { FolderReadRepository } from './repositories/folder-read.repository.js';
export type { FolderRow } from './repositories/folder-read.repository.js';
export { DraftRepository } from './repositories/draft.repository.js';
export type { DraftAwaitingMirror, DraftContent } from './repositories/draft.repository.js';
export { SendDeliveryReportRepository } from './repositories/send-delivery-report.repository.js';
export type { ReportedDelivery, ReportedRecipient } from './repositories/send-delivery-report.repository.js';
export { SendRecordRepository } from './repositories/send-record.repository.js';
export type {
  ClaimedAttempt,
  IdempotentSendRecord,
  NewSendRecord,
  SendRecordCreation,
  SendAwaitingJob,
  SmtpAcceptanceRecord,
} from './repositories/send-record.repository.js';
export {
  StoredAttachmentRepository,
  UNREFERENCED_ATTACHMENT_RETENTION_HOURS,
} from './repositories/stored-attachment.repository.js';
export type {
  LockedStoredAttachment,
  NewStoredAttachment,
  StoredAttachmentRef,
} from './repositories/stored-attachment.repository.js';
export { MessageActionRepository } from './repositories/message-action.repository.js';
export type {
  ActionToApply,
  FlagsRequest,
  PendingMessageAction,
  RequestedAction,
} from './repositories/message-action.repository.js';
export { BulkActionRepository, BULK_FAILURES_KEPT } from './repositories/bulk-action.repository.js';
export type {
  BulkBatch,
  BulkBatchMember,
  BulkMemberOutcome,
  BulkSelection,
  NewBulkAction,
  NextBulkBatch,
  UnfinishedBulkAction,
} from './repositories/bulk-action.repository.js';
export { WebhookRepository } from './repositories/webhook.repository.js';
export type { NewWebhook, WebhookChanges } from './repositories/webhook.repository.js';
export { WebhookDeliveryRepository } from './repositories/webhook-delivery.repository.js';
export type { WebhookAttemptResult, WebhookDeliveryHead } from './repositories/webhook-delivery.repository.js';
export { WebhookCursorRepository } from './repositories/webhook-cursor.repository.js';
export type {
  DispatchedBatch,
  NewWebhookDelivery,
  WebhookCursorBehind,
} from './repositories/webhook-cursor.repository.js';
export { WatchLeaseRepository } from './repositories/watch-lease.repository.js';
export type { HeldWatchLease, WatchStatus } from './repositories/watch-lease.repository.js';
