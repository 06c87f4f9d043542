import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * account_watch_leases: which worker replica keeps an account's IMAP IDLE connection, until when
 * its claim lasts without a heartbeat, and what the watch looks like (for the sync status). A row
 * outlives its owner (owner NULL once released), so the last state and error stay visible. It
 * belongs to the account's tenant like every other account row: row-level security applies, and
 * the watchers claim and renew tenant by tenant.
 */
export class AccountWatchLeases1795920000000 implements MigrationInterface {
  name = 'AccountWatchLeases1795920000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "account_watch_leases" (
        "account_id" uuid NOT NULL,
        "tenant_id" character varying(64) NOT NULL,
        "owner" text,
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "state" character varying(16) NOT NULL,
        "since" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "last_event_at" TIMESTAMP WITH TIME ZONE,
        "last_error" text,
        CONSTRAINT "PK_account_watch_leases" PRIMARY KEY ("account_id"),
        CONSTRAINT "fk_account_watch_leases_account" FOREIGN KEY ("account_id") REFERENCES "mail_accounts"("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(
      `CREATE INDEX "idx_account_watch_leases_tenant_owner" ON "account_watch_leases" ("tenant_id", "owner")`,
    );
    await queryRunner.query(`ALTER TABLE "account_watch_leases" ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE "account_watch_leases" FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(`
      CREATE POLICY "tenant_isolation" ON "account_watch_leases"
        USING ("tenant_id" = current_setting('app.tenant_id', true))
        WITH CHECK ("tenant_id" = current_setting('app.tenant_id', true))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "account_watch_leases"`);
  }
}
