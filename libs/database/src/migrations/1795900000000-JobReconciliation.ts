import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the scheduler needs to re-enqueue, from PostgreSQL alone, a job the queue's Redis lost:
 *
 * - outbound_messages.claimed_until: a send attempt's claim expires, so a duplicate job can take
 *   over a record whose worker died, and never one a live worker is still sending;
 * - outbound_messages.next_attempt_at: when a transient failure's retry is due, so a retry
 *   enqueued again keeps its delay;
 * - drafts.mirrored_version: the version the IMAP Drafts copy shows (existing drafts count as
 *   mirrored: their jobs ran long ago);
 * - draft_removals: a deleted or sent draft whose IMAP copy may still be on the server; the row
 *   goes once the copy is removed.
 */
export class JobReconciliation1795900000000 implements MigrationInterface {
  name = 'JobReconciliation1795900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "outbound_messages" ADD "claimed_until" TIMESTAMP WITH TIME ZONE, ADD "next_attempt_at" TIMESTAMP WITH TIME ZONE`,
    );
    await queryRunner.query(`ALTER TABLE "drafts" ADD "mirrored_version" integer`);
    await queryRunner.query(`UPDATE "drafts" SET "mirrored_version" = "version"`);
    await queryRunner.query(`
      CREATE TABLE "draft_removals" (
        "tenant_id" character varying(64) NOT NULL,
        "draft_id" uuid NOT NULL,
        "account_id" uuid NOT NULL,
        "version" integer NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_draft_removals" PRIMARY KEY ("tenant_id", "draft_id"),
        CONSTRAINT "fk_draft_removals_account" FOREIGN KEY ("account_id") REFERENCES "mail_accounts"("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(`CREATE INDEX "idx_draft_removals_account" ON "draft_removals" ("account_id")`);
    await queryRunner.query(`ALTER TABLE "draft_removals" ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE "draft_removals" FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(`
      CREATE POLICY "tenant_isolation" ON "draft_removals"
        USING ("tenant_id" = current_setting('app.tenant_id', true))
        WITH CHECK ("tenant_id" = current_setting('app.tenant_id', true))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "draft_removals"`);
    await queryRunner.query(`ALTER TABLE "drafts" DROP COLUMN "mirrored_version"`);
    await queryRunner.query(
      `ALTER TABLE "outbound_messages" DROP COLUMN "next_attempt_at", DROP COLUMN "claimed_until"`,
    );
  }
}
