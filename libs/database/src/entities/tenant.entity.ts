import { Entity, PrimaryColumn } from 'typeorm';

import { EntityRoot, WithCreatedAt } from './shared-columns.js';

/** Every tenant that has owned data; the crons iterate it to fan work out per tenant. */
@Entity('tenants')
export class Tenant extends WithCreatedAt(EntityRoot) {
  @PrimaryColumn({ type: 'varchar', length: 64, primaryKeyConstraintName: 'PK_tenants' })
  id!: string;
}
