import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A folder that fails to sync is retried later and later instead of on every run, like an
 * account: consecutive failures, when the last one happened, and when the folder is due again.
 */
export class FolderSyncBackoff1795852310000 implements MigrationInterface {
  name = 'FolderSyncBackoff1795852310000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "mail_folders" ADD "failure_count" integer NOT NULL DEFAULT 0, ADD "last_error_at" TIMESTAMP WITH TIME ZONE,
         ADD "next_sync_after" TIMESTAMP WITH TIME ZONE`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "mail_folders" DROP COLUMN "next_sync_after", DROP COLUMN "last_error_at", DROP COLUMN "failure_count"`,
    );
  }
}
