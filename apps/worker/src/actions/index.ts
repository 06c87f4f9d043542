import { MessageActionService } from './message-action.service.js';

export const ACTION_PROVIDERS = [MessageActionService];
