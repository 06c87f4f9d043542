import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Progressive sync. A folder records which UID ranges it has stored (`stored_uids`): the sync
 * fetches the newest mail first, so what is stored is no longer a prefix 1..last_uid, and a killed
 * run resumes with exactly the ranges still missing. `sync_uid_next` is the server's UIDNEXT when
 * the folder's latest sync began, the top the newest page is measured against.
 */
export class ProgressiveSync1795940000000 implements MigrationInterface {
  name = 'ProgressiveSync1795940000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "mail_folders" ADD "stored_uids" int8multirange NOT NULL DEFAULT '{}', ADD "sync_uid_next" bigint`,
    );
    // Row-level security would hide every row from an owner that is not a superuser.
    await queryRunner.query(`ALTER TABLE "mail_folders" NO FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(
      `UPDATE "mail_folders" SET "stored_uids" = int8multirange(int8range(1, "last_uid", '[]')) WHERE "last_uid" > 0`,
    );
    await queryRunner.query(`ALTER TABLE "mail_folders" FORCE ROW LEVEL SECURITY`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // The schema before this one resumes above last_uid: only the range from UID 1 is a prefix it can trust.
    await queryRunner.query(`ALTER TABLE "mail_folders" NO FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(
      `UPDATE "mail_folders" SET "last_uid" = coalesce((SELECT upper(r) - 1 FROM unnest("stored_uids") r WHERE lower(r) = 1), 0)`,
    );
    await queryRunner.query(`ALTER TABLE "mail_folders" FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE "mail_folders" DROP COLUMN "sync_uid_next", DROP COLUMN "stored_uids"`);
  }
}
