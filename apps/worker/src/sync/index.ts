import { AccountSyncService } from './account-sync.service.js';
import { FolderSyncService } from './folder-sync.service.js';
import { MessageBatchWriter } from './message-batch-writer.js';
import { SyncLease } from './sync-lease.js';
import { ThreadResolver } from './threading/index.js';

/** The IMAP sync engine's services, provided by the worker module next to the processors. */
export const SYNC_PROVIDERS = [AccountSyncService, FolderSyncService, SyncLease, MessageBatchWriter, ThreadResolver];
