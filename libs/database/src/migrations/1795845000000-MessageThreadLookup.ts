import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Threading looks messages up by the Message-IDs they reply to as well as by their own: a reply
 * synced before its parent (another folder, or a lower UID) is found from the parent's side through
 * In-Reply-To. A btree on plain equality, because row-level security lets the planner use an index
 * only for leakproof operators, which text equality is and array overlap is not.
 */
export class MessageThreadLookup1795845000000 implements MigrationInterface {
  name = 'MessageThreadLookup1795845000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "idx_mail_messages_account_in_reply_to" ON "mail_messages" ("account_id", "in_reply_to")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "idx_mail_messages_account_in_reply_to"`);
  }
}
