export { assertEveryJobHasOneHandler, HandlesJobs, handledJobs, JobHandlerRegistrationError } from './job-handler.js';
export type {
  ApplyBulkActionPayload,
  ApplyMessageActionPayload,
  DeliverWebhookPayload,
  JobPayloads,
  ParseMessagePayload,
  SendEmailPayload,
  SyncAccountPayload,
  SyncDraftPayload,
} from './job-payloads.js';
export { JobProducer } from './job-producer.js';
export type { JobPresence } from './job-producer.js';
export { QueueModule, RequestQueueModule } from './queue.module.js';
export { JobName, QUEUE_OF_JOB, QueueName } from './queue-names.js';
