import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scheduled sends and undo send. `send_at` holds a queued record until it is due (the time the
 * client asked for, or the end of the undo window); `cancelled_at` records a send stopped before it
 * left. The partial index finds the send of a draft, which the draft list now asks for each draft
 * (a draft held by a send is not listed); `draft_id` never changes, so the index does not keep the
 * state transitions from being heap-only updates.
 */
export class ScheduledSends1795970000000 implements MigrationInterface {
  name = 'ScheduledSends1795970000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "send_records" ADD "send_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "send_records" ADD "cancelled_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(
      `CREATE INDEX "idx_send_records_draft" ON "send_records" ("draft_id") WHERE "draft_id" IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "idx_send_records_draft"`);
    await queryRunner.query(`ALTER TABLE "send_records" DROP COLUMN "cancelled_at"`);
    await queryRunner.query(`ALTER TABLE "send_records" DROP COLUMN "send_at"`);
  }
}
