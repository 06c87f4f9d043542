import { MessageActionApplier } from './message-action-applier.js';

export const ACTION_PROVIDERS = [MessageActionApplier];
