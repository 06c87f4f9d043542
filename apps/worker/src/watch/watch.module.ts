import { MailModule } from '@app/mail';
import { Module } from '@nestjs/common';

import { PushSyncTrigger } from './push-sync-trigger.js';
import { WatchSupervisor } from './watch-supervisor.service.js';

/** IMAP IDLE watchers: push syncs of INBOX, polls of the other folders, spread over the replicas by leases. */
@Module({
  imports: [MailModule],
  providers: [PushSyncTrigger, WatchSupervisor],
})
export class WatchModule {}
