import type { MigrationInterface, QueryRunner } from 'typeorm';

const TENANT_TABLES = ['webhooks', 'webhook_cursors', 'webhook_deliveries'];

/**
 * Webhooks (the tenant's endpoints), their deliveries, and per (webhook, account) the change-log
 * position up to which changes were turned into deliveries. A cursor row is locked while its
 * changes are dispatched, so worker replicas dispatching at once never create a delivery twice;
 * the unique (webhook, account, seq) is the last guard.
 */
export class Webhooks1795930000000 implements MigrationInterface {
  name = 'Webhooks1795930000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "webhooks" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "tenant_id" character varying(64) NOT NULL,
        "url" text NOT NULL,
        "events" text array NOT NULL,
        "account_ids" uuid array,
        "active" boolean NOT NULL DEFAULT true,
        "encrypted_secret" text NOT NULL,
        "disabled_reason" text,
        "disabled_at" TIMESTAMP WITH TIME ZONE,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_webhooks" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(`CREATE INDEX "idx_webhooks_tenant" ON "webhooks" ("tenant_id")`);

    await queryRunner.query(`
      CREATE TABLE "webhook_cursors" (
        "tenant_id" character varying(64) NOT NULL,
        "webhook_id" uuid NOT NULL,
        "account_id" uuid NOT NULL,
        "last_seq" bigint NOT NULL DEFAULT 0,
        CONSTRAINT "PK_webhook_cursors" PRIMARY KEY ("webhook_id", "account_id"),
        CONSTRAINT "fk_webhook_cursors_webhook" FOREIGN KEY ("webhook_id") REFERENCES "webhooks"("id") ON DELETE CASCADE,
        CONSTRAINT "fk_webhook_cursors_account" FOREIGN KEY ("account_id") REFERENCES "mail_accounts"("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(`CREATE INDEX "idx_webhook_cursors_account" ON "webhook_cursors" ("account_id")`);

    await queryRunner.query(`
      CREATE TABLE "webhook_deliveries" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "tenant_id" character varying(64) NOT NULL,
        "account_id" uuid NOT NULL,
        "webhook_id" uuid NOT NULL,
        "seq" bigint NOT NULL,
        "type" character varying(32) NOT NULL,
        "entity_id" uuid NOT NULL,
        "changed_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "status" character varying(16) NOT NULL DEFAULT 'pending',
        "attempts" integer NOT NULL DEFAULT 0,
        "next_attempt_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "claimed_until" TIMESTAMP WITH TIME ZONE,
        "first_attempt_at" TIMESTAMP WITH TIME ZONE,
        "last_attempt_at" TIMESTAMP WITH TIME ZONE,
        "response_status" integer,
        "duration_ms" integer,
        "error" text,
        "delivered_at" TIMESTAMP WITH TIME ZONE,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_webhook_deliveries" PRIMARY KEY ("id"),
        CONSTRAINT "uq_webhook_deliveries_change" UNIQUE ("webhook_id", "account_id", "seq"),
        CONSTRAINT "fk_webhook_deliveries_webhook" FOREIGN KEY ("webhook_id") REFERENCES "webhooks"("id") ON DELETE CASCADE,
        CONSTRAINT "fk_webhook_deliveries_account" FOREIGN KEY ("account_id") REFERENCES "mail_accounts"("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(
      `CREATE INDEX "idx_webhook_deliveries_pending" ON "webhook_deliveries" ("webhook_id", "account_id", "seq") WHERE "status" = 'pending'`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_webhook_deliveries_webhook" ON "webhook_deliveries" ("webhook_id", "created_at")`,
    );

    for (const table of TENANT_TABLES) {
      await queryRunner.query(`ALTER TABLE "${table}" ENABLE ROW LEVEL SECURITY`);
      await queryRunner.query(`ALTER TABLE "${table}" FORCE ROW LEVEL SECURITY`);
      await queryRunner.query(`
        CREATE POLICY "tenant_isolation" ON "${table}"
          USING ("tenant_id" = current_setting('app.tenant_id', true))
          WITH CHECK ("tenant_id" = current_setting('app.tenant_id', true))`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "webhook_deliveries"`);
    await queryRunner.query(`DROP TABLE "webhook_cursors"`);
    await queryRunner.query(`DROP TABLE "webhooks"`);
  }
}
