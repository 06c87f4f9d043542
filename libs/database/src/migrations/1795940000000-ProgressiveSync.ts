import type { MigrationInterface, QueryRunner } from 'typeorm';

/** What a sync writes in bulk: the tables whose statistics go stale after a first sync of a large account. */
const BULK_WRITTEN_TABLES = ['mail_messages', 'mail_attachments', 'mail_message_references', 'change_log'];

/**
 * Progressive sync. A folder records which UID ranges it has stored (`stored_uids`): the sync
 * fetches the newest mail first, so what is stored is no longer a prefix 1..last_uid, and a killed
 * run resumes with exactly the ranges still missing. `sync_uid_next` is the server's UIDNEXT when
 * the folder's latest sync began, the top the newest page is measured against.
 *
 * ANALYZE needs the table's owner (MAINTAIN arrives only in PostgreSQL 17), and the apps never
 * connect as the owner: `analyze_after_bulk_sync()` runs it with the owner's rights on a fixed
 * set of tables, so a worker that just loaded thousands of rows gets plans based on them without
 * waiting a minute or more for autovacuum. It also moves the search indexes' pending entries into
 * the GIN trees, as autovacuum would: the planner costs a scan of a long pending list so high that
 * it prefers reading the whole table. The advisory lock lets one caller at a time through; the
 * others skip, since the one running does the same work.
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
    await queryRunner.query(`
      CREATE FUNCTION public.analyze_after_bulk_sync() RETURNS boolean
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
      DECLARE
        gin_index regclass;
      BEGIN
        IF NOT pg_try_advisory_xact_lock(hashtext('analyze_after_bulk_sync')) THEN
          RETURN false;
        END IF;
        FOR gin_index IN
          SELECT i."indexrelid"::regclass FROM pg_index i JOIN pg_class c ON c."oid" = i."indexrelid"
          JOIN pg_am am ON am."oid" = c."relam"
          WHERE i."indrelid" = 'public.mail_messages'::regclass AND am."amname" = 'gin'
        LOOP
          PERFORM gin_clean_pending_list(gin_index);
        END LOOP;
        ${BULK_WRITTEN_TABLES.map((table) => `ANALYZE public."${table}";`).join('\n        ')}
        RETURN true;
      END $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION public.analyze_after_bulk_sync()`);
    // The schema before this one resumes above last_uid: only the range from UID 1 is a prefix it can trust.
    await queryRunner.query(`ALTER TABLE "mail_folders" NO FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(
      `UPDATE "mail_folders" SET "last_uid" = coalesce((SELECT upper(r) - 1 FROM unnest("stored_uids") r WHERE lower(r) = 1), 0)`,
    );
    await queryRunner.query(`ALTER TABLE "mail_folders" FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE "mail_folders" DROP COLUMN "sync_uid_next", DROP COLUMN "stored_uids"`);
  }
}
