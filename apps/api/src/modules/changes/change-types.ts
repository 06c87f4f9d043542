import type { ChangeType } from '@app/database';

/** The kinds of change clients follow; the log's account and sync entries are for webhooks. */
export const CLIENT_CHANGE_TYPES: readonly ChangeType[] = ['message', 'folder', 'thread', 'draft', 'send'];
