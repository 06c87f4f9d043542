import { StoredAttachmentRepository, UNREFERENCED_ATTACHMENT_RETENTION_HOURS } from '@app/database';
import { Injectable, Logger } from '@nestjs/common';
import { Cron } from '@nestjs/schedule';

import { TenantSweep } from './tenant-sweep.js';

/** pg_try_advisory_lock key owned by this cron (any fixed 64-bit number unique in the database). */
export const ATTACHMENT_PURGE_LOCK_KEY = 7_316_201_902;

export type AttachmentPurgeResult =
  { state: 'skipped'; reason: string } | { state: 'purged'; tenants: number; attachments: number };

/**
 * Removes stored attachments that no draft and no unfinished send has pointed at for
 * UNREFERENCED_ATTACHMENT_RETENTION_HOURS: uploads never used, and bytes a crash left behind.
 * Unlike the sync cron it does the work itself, one DELETE per tenant in PostgreSQL with no mail
 * I/O, so a queue round trip would add nothing. A PostgreSQL advisory lock lets one scheduler
 * replica act; a second run of the same hour would find nothing left, so no tick marker is needed.
 */
@Injectable()
export class AttachmentPurgeCron {
  private readonly logger = new Logger(AttachmentPurgeCron.name);

  constructor(
    private readonly sweep: TenantSweep,
    private readonly storedAttachments: StoredAttachmentRepository,
  ) {}

  @Cron('23 * * * *', { name: 'attachment-purge' })
  async onTick(): Promise<void> {
    try {
      const result = await this.run();
      if (result.state === 'purged' && result.attachments > 0)
        this.logger.log(result, 'Removed unreferenced attachments');
    } catch (error: unknown) {
      this.logger.error({ err: error }, 'Attachment purge failed');
    }
  }

  async run(): Promise<AttachmentPurgeResult> {
    return this.sweep.exclusively(ATTACHMENT_PURGE_LOCK_KEY, async (): Promise<AttachmentPurgeResult> => {
      let attachments = 0;
      const { tenants } = await this.sweep.eachTenant(
        this.logger,
        'Could not purge the unreferenced attachments of a tenant',
        async () => {
          attachments += await this.storedAttachments.deleteUnreferencedOlderThan(
            UNREFERENCED_ATTACHMENT_RETENTION_HOURS,
          );
        },
      );
      return { state: 'purged', tenants, attachments };
    });
  }
}
