import type { MigrationInterface, QueryRunner } from 'typeorm';

const TENANT_OWNED_TABLES = [
  'mail_accounts',
  'mail_folders',
  'mail_messages',
  'mail_attachments',
  'drafts',
  'outbound_messages',
  'sync_runs',
];

/**
 * Row-level security on every tenant-owned table: a row is visible and writable only inside a
 * transaction whose `app.tenant_id` is the row's tenant (set by TenantScope). FORCE applies the
 * policy to the table owner too; only superusers bypass it, and the apps never connect as one.
 *
 * `tenants` is the one table without a tenant filter: the list of tenants that crons fan out over.
 */
export class TenantIsolation1795820000000 implements MigrationInterface {
  name = 'TenantIsolation1795820000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "tenants" (
        "id" character varying(64) NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_tenants" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `INSERT INTO "tenants" ("id") SELECT DISTINCT "tenant_id" FROM "mail_accounts" ON CONFLICT DO NOTHING`,
    );

    for (const table of TENANT_OWNED_TABLES) {
      await queryRunner.query(`ALTER TABLE "${table}" ENABLE ROW LEVEL SECURITY`);
      await queryRunner.query(`ALTER TABLE "${table}" FORCE ROW LEVEL SECURITY`);
      // current_setting(..., true) is NULL when unset, and NULL never equals a tenant id: no tenant, no rows.
      await queryRunner.query(`
        CREATE POLICY "tenant_isolation" ON "${table}"
          USING ("tenant_id" = current_setting('app.tenant_id', true))
          WITH CHECK ("tenant_id" = current_setting('app.tenant_id', true))`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of TENANT_OWNED_TABLES) {
      await queryRunner.query(`DROP POLICY "tenant_isolation" ON "${table}"`);
      await queryRunner.query(`ALTER TABLE "${table}" NO FORCE ROW LEVEL SECURITY`);
      await queryRunner.query(`ALTER TABLE "${table}" DISABLE ROW LEVEL SECURITY`);
    }
    await queryRunner.query(`DROP TABLE "tenants"`);
  }
}
