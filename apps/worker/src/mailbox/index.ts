import { MimeMessageBuilder } from './mime-message-builder.js';

/** What sends and draft copies share in the account's mailbox: the MIME they are built into, the special-use folders, filing a copy once. */
export const MAILBOX_PROVIDERS = [MimeMessageBuilder];
