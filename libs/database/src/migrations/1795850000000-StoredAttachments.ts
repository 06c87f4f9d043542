import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bytes of attachments that belong to drafts and queued sends. A send may wait minutes or hours
 * for a retry, and the worker that performs it is not the process that received the upload, so
 * the bytes live in PostgreSQL (TOAST-compressed bytea) under the same row-level security as
 * every other tenant-owned row. Drafts and send records point at rows here by id (`storageKey`).
 */
export class StoredAttachments1795850000000 implements MigrationInterface {
  name = 'StoredAttachments1795850000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "stored_attachments" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "tenant_id" character varying(64) NOT NULL,
        "account_id" uuid NOT NULL,
        "filename" text NOT NULL,
        "content_type" character varying(255) NOT NULL,
        "size" integer NOT NULL,
        "content" bytea NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_stored_attachments" PRIMARY KEY ("id"),
        CONSTRAINT "fk_stored_attachments_account" FOREIGN KEY ("account_id") REFERENCES "mail_accounts"("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(
      `CREATE INDEX "idx_stored_attachments_tenant_account" ON "stored_attachments" ("tenant_id", "account_id")`,
    );
    await queryRunner.query(`ALTER TABLE "stored_attachments" ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE "stored_attachments" FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(`
      CREATE POLICY "tenant_isolation" ON "stored_attachments"
        USING ("tenant_id" = current_setting('app.tenant_id', true))
        WITH CHECK ("tenant_id" = current_setting('app.tenant_id', true))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "stored_attachments"`);
  }
}
