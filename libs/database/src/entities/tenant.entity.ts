import { Entity, PrimaryColumn } from 'typeorm';

import { CreatedAtColumn } from './shared-columns.js';

/** Every tenant that has owned data; the crons iterate it to fan work out per tenant. */
@Entity('tenants')
export class Tenant {
  @PrimaryColumn({ type: 'varchar', length: 64, primaryKeyConstraintName: 'PK_tenants' })
  id!: string;

  @CreatedAtColumn()
  createdAt!: Date;
}
