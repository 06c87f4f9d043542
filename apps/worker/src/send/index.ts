import { AppConfig } from '@app/config';
import type { Provider } from '@nestjs/common';

import { SENT_COPY_POLICY, sentCopyPolicyOf } from './provider-filing.js';
import { DEFAULT_SEND_RETRY_POLICY, SEND_RETRY_POLICY } from './send-retry-policy.js';
import { SendEmailService } from './send-email.service.js';
import { SendAttemptBatches } from './send-attempt-batches.js';

export { SEND_TEST_HOOKS, SendEmailService } from './send-email.service.js';
export type { SendOutcome, SendTestHooks, SentCopyFiling } from './send-email.service.js';
export { DEFAULT_SENT_COPY_POLICY, providerFilesSentCopy, SENT_COPY_POLICY } from './provider-filing.js';
export type { SentCopyPolicy } from './provider-filing.js';
export { DEFAULT_SEND_RETRY_POLICY, retryDelayMs, SEND_RETRY_POLICY } from './send-retry-policy.js';
export type { SendRetryPolicy } from './send-retry-policy.js';

/** What the send-email processor needs, besides the mailbox helpers, the draft mirror and the libs' modules. */
export const SEND_PROVIDERS: Provider[] = [
  SendAttemptBatches,
  SendEmailService,
  { provide: SEND_RETRY_POLICY, useValue: DEFAULT_SEND_RETRY_POLICY },
  { provide: SENT_COPY_POLICY, inject: [AppConfig], useFactory: sentCopyPolicyOf },
];
