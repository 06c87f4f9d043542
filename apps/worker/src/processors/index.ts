import type { Type } from '@nestjs/common';

import { ApplyMessageActionProcessor } from './apply-message-action.processor.js';
import { ParseMessageProcessor } from './parse-message.processor.js';
import { SendEmailProcessor } from './send-email.processor.js';
import { SyncAccountProcessor } from './sync-account.processor.js';

/**
 * Every processor class of the worker. `main.ts` checks this list against the job names before
 * connecting to anything, so a job without a handler (or with two) stops the boot.
 */
export const PROCESSORS: Type[] = [SyncAccountProcessor, ParseMessageProcessor, SendEmailProcessor, ApplyMessageActionProcessor];
