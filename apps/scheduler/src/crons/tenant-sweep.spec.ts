import type { AdvisoryLockRepository, TenantRepository } from '@app/database';
import { TenantContext } from '@app/tenancy';
import type { Logger } from '@nestjs/common';

import { TenantSweep } from './tenant-sweep.js';

describe('TenantSweep', () => {
  const tenants = { listIds: () => Promise.resolve(['a', 'b', 'c']) } as unknown as TenantRepository;
  const locks = {} as AdvisoryLockRepository;
  const context = new TenantContext();
  const errors: unknown[][] = [];
  const logger = { error: (...args: unknown[]) => errors.push(args) } as unknown as Logger;

  it('serves every tenant in its own context, logging a failing one and going on', async () => {
    const sut = new TenantSweep(locks, tenants, context);
    const served: string[] = [];

    const outcome = await sut.eachTenant(logger, 'Could not do it for a tenant', async (tenantId) => {
      if (tenantId === 'b') throw new Error('boom');
      served.push(`${tenantId}:${context.tenantId}`);
      await Promise.resolve();
    });

    expect(served).toEqual(['a:a', 'c:c']);
    expect(outcome).toEqual({ tenants: 3, failedTenantIds: ['b'] });
    expect(errors).toEqual([[{ err: new Error('boom'), tenantId: 'b' }, 'Could not do it for a tenant']]);
  });
});
