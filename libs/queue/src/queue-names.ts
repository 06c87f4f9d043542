/** One queue per kind of work, so each can be scaled and paused on its own. */
export enum QueueName {
  Sync = 'mail-sync',
  Send = 'mail-send',
  Parse = 'mail-parse',
}

export enum JobName {
  SyncAccount = 'sync-account',
  SendEmail = 'send-email',
  ParseMessage = 'parse-message',
}

/** Which queue carries each job; the worker checks at boot that every job has exactly one handler. */
export const QUEUE_OF_JOB: Readonly<Record<JobName, QueueName>> = {
  [JobName.SyncAccount]: QueueName.Sync,
  [JobName.SendEmail]: QueueName.Send,
  [JobName.ParseMessage]: QueueName.Parse,
};
