import { BulkActionApplier } from './bulk-action-applier.js';
import { MessageActionApplier } from './message-action-applier.js';

export const ACTION_PROVIDERS = [MessageActionApplier, BulkActionApplier];
