import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bounce and delay notices found in a sender's mailbox, per recipient of the send they are about,
 * and the index that finds a send by its Message-ID within its account. A send turns `bounced`
 * in the same transaction (send_records.state is a varchar: no type to change).
 */
export class SendDeliveryReports1795980000000 implements MigrationInterface {
  name = 'SendDeliveryReports1795980000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "send_delivery_reports" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "tenant_id" character varying(64) NOT NULL,
        "account_id" uuid NOT NULL,
        "send_record_id" uuid NOT NULL,
        "recipient" text NOT NULL,
        "action" character varying(16) NOT NULL,
        "status" character varying(16),
        "diagnostic" text,
        "category" character varying(32) NOT NULL,
        "reported_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_send_delivery_reports" PRIMARY KEY ("id"),
        CONSTRAINT "uq_send_delivery_reports_recipient" UNIQUE ("send_record_id", "recipient", "action"),
        CONSTRAINT "fk_send_delivery_reports_send" FOREIGN KEY ("send_record_id") REFERENCES "send_records"("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(
      `CREATE INDEX "idx_send_delivery_reports_account" ON "send_delivery_reports" ("account_id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_send_records_message_id" ON "send_records" ("account_id", "message_id")`,
    );

    await queryRunner.query(`ALTER TABLE "send_delivery_reports" ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE "send_delivery_reports" FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(`
      CREATE POLICY "tenant_isolation" ON "send_delivery_reports"
        USING ("tenant_id" = current_setting('app.tenant_id', true))
        WITH CHECK ("tenant_id" = current_setting('app.tenant_id', true))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "idx_send_records_message_id"`);
    await queryRunner.query(`DROP TABLE "send_delivery_reports"`);
  }
}
