import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The fingerprint of the request that created a send (SHA-256 over its canonical form), kept next
 * to its Idempotency-Key: a later request with the same key but a different body is refused
 * instead of being answered with the first send's result. Null for sends created without a key
 * and for those stored before this column existed; such a key is honoured as before.
 */
export class SendRequestFingerprint1795871000000 implements MigrationInterface {
  name = 'SendRequestFingerprint1795871000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "outbound_messages" ADD "request_fingerprint" character(64)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "outbound_messages" DROP COLUMN "request_fingerprint"`);
  }
}
