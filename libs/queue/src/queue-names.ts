/**
 * One queue per kind of work, so each can be scaled and paused on its own. A job name is added
 * together with its processor: the worker refuses to start with a job nobody consumes.
 */
export enum QueueName {
  Sync = 'mail-sync',
  Parse = 'mail-parse',
  Send = 'mail-send',
  Drafts = 'mail-drafts',
  Actions = 'mail-actions',
  BulkActions = 'mail-bulk-actions',
  Webhooks = 'mail-webhooks',
}

export enum JobName {
  SyncAccount = 'sync-account',
  ParseMessage = 'parse-message',
  SendEmail = 'send-email',
  /** Mirrors a draft stored in PostgreSQL into the account's IMAP Drafts folder (or removes it there). */
  SyncDraft = 'sync-draft',
  ApplyMessageAction = 'apply-message-action',
  /** Applies the members of a bulk action on the server, a UID batch per command. */
  ApplyBulkAction = 'apply-bulk-action',
  /** One attempt at the oldest pending delivery of a (webhook, account); the next one follows in a job of its own. */
  DeliverWebhook = 'deliver-webhook',
}

/** Which queue carries each job; the worker checks at boot that every job has exactly one handler. */
export const QUEUE_OF_JOB: Readonly<Record<JobName, QueueName>> = {
  [JobName.SyncAccount]: QueueName.Sync,
  [JobName.ParseMessage]: QueueName.Parse,
  [JobName.SendEmail]: QueueName.Send,
  [JobName.SyncDraft]: QueueName.Drafts,
  [JobName.ApplyMessageAction]: QueueName.Actions,
  [JobName.ApplyBulkAction]: QueueName.BulkActions,
  [JobName.DeliverWebhook]: QueueName.Webhooks,
};
