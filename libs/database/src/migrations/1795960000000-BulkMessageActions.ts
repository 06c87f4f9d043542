import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bulk actions: one record per request, its member messages as ordinary pending message actions
 * that name it. The worker settles members a UID batch at a time and counts them on the record in
 * the same transaction, so the counts never disagree with the members and a killed worker resumes
 * with the members still pending.
 */
export class BulkMessageActions1795960000000 implements MigrationInterface {
  name = 'BulkMessageActions1795960000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "bulk_actions" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "tenant_id" character varying(64) NOT NULL,
        "account_id" uuid NOT NULL,
        "action" character varying(16) NOT NULL,
        "target_folder_id" uuid,
        "state" character varying(16) NOT NULL DEFAULT 'queued',
        "total" integer NOT NULL,
        "done" integer NOT NULL DEFAULT 0,
        "failed" integer NOT NULL DEFAULT 0,
        "failures" jsonb NOT NULL DEFAULT '[]',
        "error" text,
        "finished_at" TIMESTAMP WITH TIME ZONE,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_bulk_actions" PRIMARY KEY ("id"),
        CONSTRAINT "fk_bulk_actions_account" FOREIGN KEY ("account_id") REFERENCES "mail_accounts"("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(`CREATE INDEX "idx_bulk_actions_tenant" ON "bulk_actions" ("tenant_id")`);
    await queryRunner.query(
      `CREATE INDEX "idx_bulk_actions_unfinished" ON "bulk_actions" ("tenant_id", "created_at") WHERE "state" IN ('queued', 'running')`,
    );
    await queryRunner.query(`ALTER TABLE "bulk_actions" ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE "bulk_actions" FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(`
      CREATE POLICY "tenant_isolation" ON "bulk_actions"
        USING ("tenant_id" = current_setting('app.tenant_id', true))
        WITH CHECK ("tenant_id" = current_setting('app.tenant_id', true))`);

    await queryRunner.query(`ALTER TABLE "mail_message_actions" ADD "bulk_action_id" uuid`);
    await queryRunner.query(
      `ALTER TABLE "mail_message_actions" ADD CONSTRAINT "fk_mail_message_actions_bulk_action" FOREIGN KEY ("bulk_action_id") REFERENCES "bulk_actions"("id") ON DELETE CASCADE`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_mail_message_actions_bulk_pending" ON "mail_message_actions" ("bulk_action_id") WHERE "state" = 'pending'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "idx_mail_message_actions_bulk_pending"`);
    await queryRunner.query(`ALTER TABLE "mail_message_actions" DROP CONSTRAINT "fk_mail_message_actions_bulk_action"`);
    await queryRunner.query(`ALTER TABLE "mail_message_actions" DROP COLUMN "bulk_action_id"`);
    await queryRunner.query(`DROP TABLE "bulk_actions"`);
  }
}
