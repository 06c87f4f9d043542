import { MessageActionRepository, TenantRepository, UNSETTLED_ACTION_TIMEOUT_MINUTES } from '@app/database';
import { TenantContext } from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';
import { Cron } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { runExclusively } from './exclusive-run.js';

/** pg_try_advisory_lock key owned by this cron (any fixed 64-bit number unique in the database). */
export const UNSETTLED_ACTION_LOCK_KEY = 7_316_201_903;

export const UNSETTLED_ACTION_REASON =
  `the IMAP server did not confirm the change within ${UNSETTLED_ACTION_TIMEOUT_MINUTES} minutes (its job was lost), so it was undone here; the next sync shows the server's state`;

export type UnsettledActionResult = { state: 'skipped'; reason: string } | { state: 'settled'; tenants: number; reverted: number; failed: number };

/**
 * Settles flag changes, moves and deletes whose job was lost (Redis flushed, a crash past the
 * job's retries): still pending UNSETTLED_ACTION_TIMEOUT_MINUTES after they were requested, they
 * are undone locally and marked failed with a reason, exactly as a server refusal undoes them. A
 * job that turns up later finds its action settled and does nothing. The work is a few statements
 * per tenant in PostgreSQL, so it is done here rather than queued; a PostgreSQL advisory lock lets
 * one scheduler replica act, and a second run finds nothing left.
 */
@Injectable()
export class UnsettledActionCron {
  private readonly logger = new Logger(UnsettledActionCron.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tenants: TenantRepository,
    private readonly tenantContext: TenantContext,
    private readonly actions: MessageActionRepository,
  ) {}

  @Cron('*/5 * * * *', { name: 'unsettled-message-actions' })
  async onTick(): Promise<void> {
    try {
      const result = await this.run();
      if (result.state === 'settled' && result.reverted + result.failed > 0) this.logger.warn(result, 'Undid message actions whose job was lost');
    } catch (error: unknown) {
      this.logger.error({ err: error }, 'Settling unsettled message actions failed');
    }
  }

  async run(): Promise<UnsettledActionResult> {
    return runExclusively(this.dataSource, UNSETTLED_ACTION_LOCK_KEY, () => this.settleEveryTenant());
  }

  private async settleEveryTenant(): Promise<UnsettledActionResult> {
    let reverted = 0;
    let failed = 0;
    const tenantIds = await this.tenants.listIds();
    for (const tenantId of tenantIds) {
      try {
        await this.tenantContext.run(tenantId, async () => {
          for (const actionId of await this.actions.findPendingOlderThan(UNSETTLED_ACTION_TIMEOUT_MINUTES)) {
            try {
              await this.actions.revert(actionId, UNSETTLED_ACTION_REASON);
              reverted += 1;
            } catch (error: unknown) {
              // One action that cannot be undone must not leave the tenant's others pending.
              failed += 1;
              this.logger.error({ err: error, tenantId, actionId }, 'Could not undo a message action whose job was lost');
            }
          }
        });
      } catch (error: unknown) {
        // One tenant's failure must not leave the others' actions pending.
        this.logger.error({ err: error, tenantId }, 'Could not look for the unsettled message actions of a tenant');
      }
    }
    return { state: 'settled', tenants: tenantIds.length, reverted, failed };
  }
}
