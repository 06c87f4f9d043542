import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Names that carry the table's name; the tenant_isolation policy, row-level security and grants follow the table as they are. */
const RENAMES = [
  { kind: 'CONSTRAINT', from: 'PK_0a03db3e2f04f9f33e6daa597ff', to: 'PK_77db7bb3a6c3e205efc308fc39b' },
  { kind: 'CONSTRAINT', from: 'uq_outbound_messages_idempotency', to: 'uq_send_records_idempotency' },
  { kind: 'CONSTRAINT', from: 'fk_outbound_messages_account', to: 'fk_send_records_account' },
  { kind: 'INDEX', from: 'idx_outbound_messages_tenant_account', to: 'idx_send_records_tenant_account' },
] as const;

/**
 * outbound_messages becomes send_records, the name the code gives a message the user asked to
 * send and its delivery state ("outbound" is left to the egress policy). The primary key gets the
 * name TypeORM derives for the new table, so a generated migration finds nothing to change.
 *
 * The running code names the table in its queries, so unlike the migrations before it this one
 * does not work with the release before: stop the API, worker and scheduler before running it
 * (deployment/OPERATIONS.md, Upgrade).
 */
export class SendRecords1795910000000 implements MigrationInterface {
  name = 'SendRecords1795910000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "outbound_messages" RENAME TO "send_records"`);
    for (const { kind, from, to } of RENAMES) await queryRunner.query(renameStatement(kind, from, to));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const { kind, from, to } of [...RENAMES].reverse()) await queryRunner.query(renameStatement(kind, to, from));
    await queryRunner.query(`ALTER TABLE "send_records" RENAME TO "outbound_messages"`);
  }
}

function renameStatement(kind: 'CONSTRAINT' | 'INDEX', from: string, to: string): string {
  return kind === 'INDEX'
    ? `ALTER INDEX "${from}" RENAME TO "${to}"`
    : `ALTER TABLE "send_records" RENAME CONSTRAINT "${from}" TO "${to}"`;
}
