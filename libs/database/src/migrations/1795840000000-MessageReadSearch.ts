import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the read side needs to search fast under row-level security:
 *
 * - accent- and case-folded text (unaccent) in the search vector, so "cafe" finds "café";
 * - folded name+address text per address field, trigram-indexed for `from:`/`to:`/`cc:` substrings;
 * - the two match functions marked LEAKPROOF. Row-level security lets the planner use an index
 *   only for leakproof operators, so without this every search scans the account's messages.
 *   Neither function can raise an error that depends on a row's value (LIKE complains about
 *   the pattern alone), so evaluating them before the tenant policy reveals nothing. Only a
 *   superuser may mark them, and pg_proc is per database: the migration does it when it runs as
 *   one and warns otherwise (search stays correct, only slower).
 */
// Snapshots of the entity's expressions at the time of this migration; later changes need a new migration.
const SEARCH_VECTOR_EXPRESSION =
  `setweight(to_tsvector('simple', mail_search_fold(coalesce("subject", ''))), 'A') || ` +
  `setweight(to_tsvector('simple', mail_search_fold(coalesce("from_name", '') || ' ' || coalesce("from_address", '') || ' ' || mail_address_text("to") || ' ' || mail_address_text("cc"))), 'B') || ` +
  `setweight(to_tsvector('simple', mail_search_fold(left(coalesce("text_body", ''), 200000))), 'D')`;
const PREVIOUS_SEARCH_VECTOR_EXPRESSION =
  `setweight(to_tsvector('simple', coalesce("subject", '')), 'A') || ` +
  `setweight(to_tsvector('simple', coalesce("from_name", '') || ' ' || coalesce("from_address", '')) || to_tsvector('simple', "to") || to_tsvector('simple', "cc"), 'B') || ` +
  `setweight(to_tsvector('simple', left(coalesce("text_body", ''), 200000)), 'D')`;
const ADDRESS_COLUMNS: [column: string, expression: string][] = [
  ['from_search', `mail_search_fold(coalesce("from_name", '') || ' ' || coalesce("from_address", ''))`],
  ['to_search', `mail_search_fold(mail_address_text("to"))`],
  ['cc_search', `mail_search_fold(mail_address_text("cc"))`],
];
const LEAKPROOF_FUNCTIONS = ['pg_catalog.ts_match_vq(tsvector, tsquery)', 'pg_catalog.textlike(text, text)'];

export class MessageReadSearch1795840000000 implements MigrationInterface {
  name = 'MessageReadSearch1795840000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS "pg_trgm" WITH SCHEMA public`);
    await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS "unaccent" WITH SCHEMA public`);
    // unaccent() is STABLE because its dictionary could be swapped; naming the dictionary
    // explicitly makes the result fixed, which generated columns and indexes require.
    await queryRunner.query(`
      CREATE FUNCTION public.mail_search_fold(value text) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT pg_catalog.lower(public.unaccent('public.unaccent'::regdictionary, value)) $$`);
    await queryRunner.query(`
      CREATE FUNCTION public.mail_address_text(addresses jsonb) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$
          SELECT coalesce(string_agg(coalesce(entry->>'name', '') || ' ' || coalesce(entry->>'address', ''), ' '), '')
          FROM pg_catalog.jsonb_array_elements(
            CASE WHEN pg_catalog.jsonb_typeof(addresses) = 'array' THEN addresses ELSE '[]'::jsonb END
          ) AS entry
        $$`);

    await queryRunner.query(`DROP INDEX "idx_mail_messages_search"`);
    // One ALTER so the table is rewritten once, not once per generated column.
    await queryRunner.query(
      `ALTER TABLE "mail_messages" DROP COLUMN "search_vector",
         ADD "search_vector" tsvector GENERATED ALWAYS AS (${SEARCH_VECTOR_EXPRESSION}) STORED,
         ${ADDRESS_COLUMNS.map(([column, expression]) => `ADD "${column}" text GENERATED ALWAYS AS (${expression}) STORED`).join(',\n         ')}`,
    );
    await queryRunner.query(
      `UPDATE "typeorm_metadata" SET "value" = $1
       WHERE "type" = 'GENERATED_COLUMN' AND "table" = 'mail_messages' AND "name" = 'search_vector'
         AND "database" = current_database() AND "schema" = current_schema()`,
      [SEARCH_VECTOR_EXPRESSION],
    );
    await queryRunner.query(`CREATE INDEX "idx_mail_messages_search" ON "mail_messages" USING GIN ("search_vector")`);
    for (const [column, expression] of ADDRESS_COLUMNS) {
      await queryRunner.query(
        `INSERT INTO "typeorm_metadata" ("database", "schema", "table", "type", "name", "value")
         VALUES (current_database(), current_schema(), 'mail_messages', 'GENERATED_COLUMN', $1, $2)`,
        [column, expression],
      );
      await queryRunner.query(
        `CREATE INDEX "idx_mail_messages_${column}" ON "mail_messages" USING GIN ("${column}" public.gin_trgm_ops)`,
      );
    }
    await this.setLeakproof(queryRunner, true);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await this.setLeakproof(queryRunner, false);
    for (const [column] of ADDRESS_COLUMNS) {
      await queryRunner.query(`DROP INDEX "idx_mail_messages_${column}"`);
      await queryRunner.query(
        `DELETE FROM "typeorm_metadata" WHERE "type" = 'GENERATED_COLUMN' AND "table" = 'mail_messages' AND "name" = $1`,
        [column],
      );
    }
    await queryRunner.query(`DROP INDEX "idx_mail_messages_search"`);
    await queryRunner.query(
      `ALTER TABLE "mail_messages" ${ADDRESS_COLUMNS.map(([column]) => `DROP COLUMN "${column}"`).join(', ')}, DROP COLUMN "search_vector",
         ADD "search_vector" tsvector GENERATED ALWAYS AS (${PREVIOUS_SEARCH_VECTOR_EXPRESSION}) STORED`,
    );
    await queryRunner.query(
      `UPDATE "typeorm_metadata" SET "value" = $1
       WHERE "type" = 'GENERATED_COLUMN' AND "table" = 'mail_messages' AND "name" = 'search_vector'
         AND "database" = current_database() AND "schema" = current_schema()`,
      [PREVIOUS_SEARCH_VECTOR_EXPRESSION],
    );
    await queryRunner.query(`CREATE INDEX "idx_mail_messages_search" ON "mail_messages" USING GIN ("search_vector")`);
    await queryRunner.query(`DROP FUNCTION public.mail_address_text(jsonb)`);
    await queryRunner.query(`DROP FUNCTION public.mail_search_fold(text)`);
    // The extensions stay: other objects may have come to depend on them.
  }

  private async setLeakproof(queryRunner: QueryRunner, leakproof: boolean): Promise<void> {
    const statements = LEAKPROOF_FUNCTIONS.map(
      (fn) => `ALTER FUNCTION ${fn} ${leakproof ? '' : 'NOT '}LEAKPROOF;`,
    ).join(' ');
    await queryRunner.query(`
      DO $$
      BEGIN
        IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
          ${statements}
        ELSE
          RAISE WARNING 'not a superuser: full-text and address search cannot use their indexes under row-level security';
        END IF;
      END $$`);
  }
}
