import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The scheduler looks, tenant by tenant, for message actions left pending too long (their job was
 * lost) to undo them. Only the few pending rows are indexed; settled actions, nearly all of the
 * table, are left out.
 */
export class PendingMessageActions1795881500000 implements MigrationInterface {
  name = 'PendingMessageActions1795881500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "idx_mail_message_actions_pending" ON "mail_message_actions" ("tenant_id", "created_at") WHERE "state" = 'pending'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "idx_mail_message_actions_pending"`);
  }
}
