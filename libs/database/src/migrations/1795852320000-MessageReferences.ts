import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The Message-IDs each message refers to, one row each, for threading messages that arrive after
 * their replies (see MailMessageReference). Filled from the stored messages; tenant-isolated like
 * every tenant-owned table.
 */
export class MessageReferences1795852320000 implements MigrationInterface {
  name = 'MessageReferences1795852320000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "mail_message_references" (
        "message_id" uuid NOT NULL,
        "referenced_id" text NOT NULL,
        "tenant_id" character varying(64) NOT NULL,
        "account_id" uuid NOT NULL,
        CONSTRAINT "PK_mail_message_references" PRIMARY KEY ("message_id", "referenced_id"),
        CONSTRAINT "fk_mail_message_references_message" FOREIGN KEY ("message_id") REFERENCES "mail_messages"("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(
      `CREATE INDEX "idx_mail_message_references_lookup" ON "mail_message_references" ("account_id", "referenced_id")`,
    );
    await queryRunner.query(`
      INSERT INTO "mail_message_references" ("message_id", "referenced_id", "tenant_id", "account_id")
      SELECT DISTINCT m."id", r.id, m."tenant_id", m."account_id"
      FROM "mail_messages" m
      CROSS JOIN LATERAL unnest(array_append(m."references", m."in_reply_to")) AS r(id)
      WHERE r.id IS NOT NULL`);
    await queryRunner.query(`ALTER TABLE "mail_message_references" ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE "mail_message_references" FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(`
      CREATE POLICY "tenant_isolation" ON "mail_message_references"
        USING ("tenant_id" = current_setting('app.tenant_id', true))
        WITH CHECK ("tenant_id" = current_setting('app.tenant_id', true))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "mail_message_references"`);
  }
}
