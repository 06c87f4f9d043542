import { AdvisoryLockRepository, LOCK_HELD_ELSEWHERE, TenantRepository } from '@app/database';
import { TenantContext } from '@app/tenancy';
import { Injectable } from '@nestjs/common';
import type { Logger } from '@nestjs/common';

export interface SweepOutcome {
  tenants: number;
  /** Tenants whose work threw; it was logged, and the other tenants were served regardless. */
  failedTenantIds: string[];
}

/**
 * The skeleton every cron shares: act in one scheduler replica only (a PostgreSQL advisory lock
 * per cron), then go tenant by tenant, each inside its own tenant context, so that one tenant's
 * failure is logged and never starves the others.
 */
@Injectable()
export class TenantSweep {
  constructor(
    private readonly locks: AdvisoryLockRepository,
    private readonly tenants: TenantRepository,
    private readonly tenantContext: TenantContext,
  ) {}

  /** `lockKey`: the cron's own pg_try_advisory_lock key (any fixed 64-bit number unique in the database). */
  async exclusively<T>(lockKey: number, work: () => Promise<T>): Promise<T | typeof LOCK_HELD_ELSEWHERE> {
    return this.locks.runExclusively(lockKey, work);
  }

  /** Runs `work` for every tenant; a failure is logged with `failureMessage` and the tenant's id. */
  async eachTenant(
    logger: Logger,
    failureMessage: string,
    work: (tenantId: string) => Promise<void>,
  ): Promise<SweepOutcome> {
    const tenantIds = await this.tenants.listIds();
    const failedTenantIds: string[] = [];
    for (const tenantId of tenantIds) {
      try {
        await this.tenantContext.run(tenantId, () => work(tenantId));
      } catch (error: unknown) {
        failedTenantIds.push(tenantId);
        logger.error({ err: error, tenantId }, failureMessage);
      }
    }
    return { tenants: tenantIds.length, failedTenantIds };
  }
}
