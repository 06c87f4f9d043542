import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Flag changes, moves and deletes requested through the API: recorded here, applied to PostgreSQL
 * at once and to the IMAP server by a job. A moved message waits for its UID in the new folder
 * under UIDVALIDITY 0 (never a real one, RFC 3501 section 2.3.1.1) and a negative placeholder UID
 * from a sequence, so it cannot collide with a synced row while the move is under way.
 */
export class MessageActions1795860000000 implements MigrationInterface {
  name = 'MessageActions1795860000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE SEQUENCE "mail_message_pending_uid"`);
    await queryRunner.query(`ALTER TABLE "mail_messages" ADD "action_error" jsonb`);
    await queryRunner.query(`
      CREATE TABLE "mail_message_actions" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "tenant_id" character varying(64) NOT NULL,
        "account_id" uuid NOT NULL,
        "message_id" uuid NOT NULL,
        "kind" character varying(16) NOT NULL,
        "state" character varying(16) NOT NULL DEFAULT 'pending',
        "change" jsonb NOT NULL,
        "origin" jsonb NOT NULL,
        "error" text,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "finished_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "PK_mail_message_actions" PRIMARY KEY ("id"),
        CONSTRAINT "fk_mail_message_actions_account" FOREIGN KEY ("account_id") REFERENCES "mail_accounts"("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(`CREATE INDEX "idx_mail_message_actions_tenant" ON "mail_message_actions" ("tenant_id")`);
    await queryRunner.query(
      `CREATE INDEX "idx_mail_message_actions_message" ON "mail_message_actions" ("message_id", "created_at")`,
    );
    await queryRunner.query(`ALTER TABLE "mail_message_actions" ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE "mail_message_actions" FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(`
      CREATE POLICY "tenant_isolation" ON "mail_message_actions"
        USING ("tenant_id" = current_setting('app.tenant_id', true))
        WITH CHECK ("tenant_id" = current_setting('app.tenant_id', true))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "mail_message_actions"`);
    await queryRunner.query(`ALTER TABLE "mail_messages" DROP COLUMN "action_error"`);
    await queryRunner.query(`DROP SEQUENCE "mail_message_pending_uid"`);
  }
}
