import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

import { Tenant } from '../entities/tenant.entity.js';

/**
 * The registry of tenants. It holds ids only and is the one table read without a tenant filter:
 * crons iterate it to fan work out, then act inside each tenant's scope.
 */
@Injectable()
export class TenantRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async register(tenantId: string): Promise<void> {
    await this.dataSource.createQueryBuilder().insert().into(Tenant).values({ id: tenantId }).orIgnore().execute();
  }

  async listIds(): Promise<string[]> {
    const rows = await this.dataSource.getRepository(Tenant).find({ select: { id: true }, order: { id: 'ASC' } });
    return rows.map((row) => row.id);
  }
}
