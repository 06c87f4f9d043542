import type { MigrationInterface, QueryRunner } from 'typeorm';

const UPDATED_PAIRS = 'FROM new_rows n JOIN old_rows o ON o."id" = n."id"';

/** Stages account changes like migration ChangeLog's `stageChanges`, for the rows `changes` selects. */
function accountUpdateTrigger(changes: string): string {
  return `
    CREATE OR REPLACE FUNCTION "log_mail_accounts_update"() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      WITH staged AS (
        INSERT INTO "pending_changes" ("tenant_id", "account_id", "type", "entity_id", "op")
        SELECT c.tenant_id, c.account_id, c.type, c.entity_id, c.op FROM (${changes}) AS c (tenant_id, account_id, type, entity_id, op)
        WHERE EXISTS (SELECT 1 FROM "mail_accounts" a WHERE a."id" = c.account_id)
        RETURNING "xid", "tenant_id", "account_id"
      )
      INSERT INTO "pending_change_flushes" ("xid", "tenant_id", "account_id")
      SELECT DISTINCT "xid", "tenant_id", "account_id" FROM staged
      ON CONFLICT DO NOTHING;
      RETURN NULL;
    END $$`;
}

const ACCOUNT_ERROR = `SELECT n.tenant_id, n.id, 'account', n.id, 'error' ${UPDATED_PAIRS}
  WHERE n.last_error IS NOT NULL AND n.last_error IS DISTINCT FROM o.last_error`;

const ACCOUNT_REAUTH_REQUIRED = `SELECT n.tenant_id, n.id, 'account', n.id, 'reauth_required' ${UPDATED_PAIRS}
  WHERE n.auth_state = 'reauth_required' AND o.auth_state IS DISTINCT FROM 'reauth_required'`;

/**
 * Accounts that log in with OAuth2 access tokens instead of a password. The tokens are sealed
 * with the same key ring as passwords; `token_expires_at` is written in the transaction that
 * stores a refreshed pair, under the account row's lock, so concurrent refreshers see it at once.
 * An account whose refresh token the provider refused is `reauth_required` (with the provider's
 * reason) until new tokens arrive; the account trigger logs that transition as an
 * `account.reauth_required` change.
 */
export class AccountOAuth1795950000000 implements MigrationInterface {
  name = 'AccountOAuth1795950000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "mail_accounts"
        ADD "auth_type" character varying(16) NOT NULL DEFAULT 'password',
        ADD "oauth_provider" character varying(64),
        ADD "encrypted_access_token" text,
        ADD "encrypted_refresh_token" text,
        ADD "token_expires_at" TIMESTAMP WITH TIME ZONE,
        ADD "auth_state" character varying(24) NOT NULL DEFAULT 'valid',
        ADD "auth_error" text,
        ALTER COLUMN "encrypted_password" DROP NOT NULL`);
    await queryRunner.query(accountUpdateTrigger(`${ACCOUNT_ERROR} UNION ALL ${ACCOUNT_REAUTH_REQUIRED}`));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(accountUpdateTrigger(ACCOUNT_ERROR));
    await queryRunner.query(`DELETE FROM "mail_accounts" WHERE "auth_type" <> 'password'`);
    await queryRunner.query(`
      ALTER TABLE "mail_accounts"
        ALTER COLUMN "encrypted_password" SET NOT NULL,
        DROP COLUMN "auth_error",
        DROP COLUMN "auth_state",
        DROP COLUMN "token_expires_at",
        DROP COLUMN "encrypted_refresh_token",
        DROP COLUMN "encrypted_access_token",
        DROP COLUMN "oauth_provider",
        DROP COLUMN "auth_type"`);
  }
}
