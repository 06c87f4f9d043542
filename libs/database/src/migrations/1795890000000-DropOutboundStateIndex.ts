import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * No query reads outbound messages by state and age, and the index cost every send. Claiming and
 * accepting a record change its state, so each of those updates wrote new entries into every index
 * of the table instead of staying on the heap page, and the planner, trusting statistics that saw
 * few queued records, claimed records through it: visiting every old version of every record
 * queued meanwhile, instead of looking the claimed ids up by key.
 */
export class DropOutboundStateIndex1795890000000 implements MigrationInterface {
  name = 'DropOutboundStateIndex1795890000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "idx_outbound_messages_state"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "idx_outbound_messages_state" ON "outbound_messages" ("state", "updated_at")`,
    );
  }
}
