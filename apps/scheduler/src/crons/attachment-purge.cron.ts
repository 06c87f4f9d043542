import { StoredAttachmentRepository, TenantRepository, UNREFERENCED_ATTACHMENT_RETENTION_HOURS } from '@app/database';
import { TenantContext } from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';
import { Cron } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { runExclusively } from './exclusive-run.js';

/** pg_try_advisory_lock key owned by this cron (any fixed 64-bit number unique in the database). */
export const ATTACHMENT_PURGE_LOCK_KEY = 7_316_201_902;

export type AttachmentPurgeResult = { state: 'skipped'; reason: string } | { state: 'purged'; tenants: number; attachments: number };

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
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tenants: TenantRepository,
    private readonly tenantContext: TenantContext,
    private readonly storedAttachments: StoredAttachmentRepository,
  ) {}

  @Cron('23 * * * *', { name: 'attachment-purge' })
  async onTick(): Promise<void> {
    try {
      const result = await this.run();
      if (result.state === 'purged' && result.attachments > 0) this.logger.log(result, 'Removed unreferenced attachments');
    } catch (error: unknown) {
      this.logger.error({ err: error }, 'Attachment purge failed');
    }
  }

  async run(): Promise<AttachmentPurgeResult> {
    return runExclusively(this.dataSource, ATTACHMENT_PURGE_LOCK_KEY, () => this.purgeEveryTenant());
  }

  private async purgeEveryTenant(): Promise<AttachmentPurgeResult> {
    let attachments = 0;
    const tenantIds = await this.tenants.listIds();
    for (const tenantId of tenantIds) {
      try {
        attachments += await this.tenantContext.run(tenantId, () => this.storedAttachments.deleteUnreferencedOlderThan(UNREFERENCED_ATTACHMENT_RETENTION_HOURS));
      } catch (error: unknown) {
        // One tenant's failure must not keep the others' storage from being reclaimed.
        this.logger.error({ err: error, tenantId }, 'Could not purge the unreferenced attachments of a tenant');
      }
    }
    return { state: 'purged', tenants: tenantIds.length, attachments };
  }
}
