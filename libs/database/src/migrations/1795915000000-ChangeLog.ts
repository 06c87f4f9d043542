import type { MigrationInterface, QueryRunner } from 'typeorm';

const TENANT_POLICY = `
  USING ("tenant_id" = current_setting('app.tenant_id', true))
  WITH CHECK ("tenant_id" = current_setting('app.tenant_id', true))`;

/** Tables whose rows the triggers below stage; account changes come and go with their account. */
const NEW_TABLES = ['change_log', 'change_sequences', 'pending_changes', 'pending_change_flushes'];

/**
 * Stages the changes a statement made, `rows` selecting (tenant_id, account_id, type, entity_id,
 * op), and marks their accounts for sequencing at commit. A change to an account deleted in the
 * same statement (cascades) is dropped: its log goes with it.
 */
function stageChanges(rows: string): string {
  return `
    WITH staged AS (
      INSERT INTO "pending_changes" ("tenant_id", "account_id", "type", "entity_id", "op")
      SELECT c.tenant_id, c.account_id, c.type, c.entity_id, c.op FROM (${rows}) AS c (tenant_id, account_id, type, entity_id, op)
      WHERE EXISTS (SELECT 1 FROM "mail_accounts" a WHERE a."id" = c.account_id)
      RETURNING "xid", "tenant_id", "account_id"
    )
    INSERT INTO "pending_change_flushes" ("xid", "tenant_id", "account_id")
    SELECT DISTINCT "xid", "tenant_id", "account_id" FROM staged
    ON CONFLICT DO NOTHING`;
}

interface TrackedStatement {
  table: string;
  event: 'INSERT' | 'UPDATE' | 'DELETE';
  /** SQL over the transition tables `new_rows` / `old_rows` selecting the changes to stage. */
  changes: string;
}

/** A thread is created by its first message and deleted with its last: membership is what changes it. */
const THREAD_OF_INSERTED = `
  SELECT DISTINCT n.tenant_id, n.account_id, 'thread', n.thread_id,
    CASE WHEN EXISTS (
      SELECT 1 FROM "mail_messages" m
      WHERE m."account_id" = n.account_id AND m."thread_id" = n.thread_id
        AND m."id" NOT IN (SELECT "id" FROM new_rows)
    ) THEN 'updated' ELSE 'created' END
  FROM new_rows n WHERE n.thread_id IS NOT NULL`;

const THREAD_OF_DELETED = `
  SELECT DISTINCT o.tenant_id, o.account_id, 'thread', o.thread_id,
    CASE WHEN EXISTS (
      SELECT 1 FROM "mail_messages" m WHERE m."account_id" = o.account_id AND m."thread_id" = o.thread_id
    ) THEN 'updated' ELSE 'deleted' END
  FROM old_rows o WHERE o.thread_id IS NOT NULL`;

/** A message's fields a client sees change; bookkeeping (uid after a move, updated_at) does not count. */
const MESSAGE_VISIBLE = ['folder_id', 'flags', 'thread_id', 'parse_state', 'action_error', 'has_attachments'];
const FOLDER_VISIBLE = ['path', 'name', 'delimiter', 'role', 'message_count', 'unseen_count', 'synced_count'];

function changed(columns: string[]): string {
  return `(${columns.map((column) => `o."${column}"`).join(', ')}) IS DISTINCT FROM (${columns
    .map((column) => `n."${column}"`)
    .join(', ')})`;
}

const UPDATED_PAIRS = 'FROM new_rows n JOIN old_rows o ON o."id" = n."id"';

const TRACKED: TrackedStatement[] = [
  {
    table: 'mail_messages',
    event: 'INSERT',
    changes: `SELECT tenant_id, account_id, 'message', id, 'created' FROM new_rows
      UNION ALL ${THREAD_OF_INSERTED}`,
  },
  {
    table: 'mail_messages',
    event: 'UPDATE',
    changes: `SELECT n.tenant_id, n.account_id, 'message', n.id, 'updated' ${UPDATED_PAIRS} WHERE ${changed(MESSAGE_VISIBLE)}
      UNION ALL
      SELECT DISTINCT o.tenant_id, o.account_id, 'thread', o.thread_id,
        CASE WHEN EXISTS (
          SELECT 1 FROM "mail_messages" m WHERE m."account_id" = o.account_id AND m."thread_id" = o.thread_id
        ) THEN 'updated' ELSE 'deleted' END
      ${UPDATED_PAIRS} WHERE o.thread_id IS NOT NULL AND o.thread_id IS DISTINCT FROM n.thread_id
      UNION ALL
      SELECT DISTINCT n.tenant_id, n.account_id, 'thread', n.thread_id,
        CASE WHEN EXISTS (
          SELECT 1 FROM "mail_messages" m
          WHERE m."account_id" = n.account_id AND m."thread_id" = n.thread_id
            AND m."id" NOT IN (SELECT n2."id" FROM new_rows n2 JOIN old_rows o2 ON o2."id" = n2."id"
                               WHERE o2.thread_id IS DISTINCT FROM n2.thread_id)
        ) THEN 'updated' ELSE 'created' END
      ${UPDATED_PAIRS} WHERE n.thread_id IS NOT NULL AND o.thread_id IS DISTINCT FROM n.thread_id`,
  },
  {
    table: 'mail_messages',
    event: 'DELETE',
    changes: `SELECT tenant_id, account_id, 'message', id, 'deleted' FROM old_rows UNION ALL ${THREAD_OF_DELETED}`,
  },
  {
    table: 'mail_folders',
    event: 'INSERT',
    changes: `SELECT tenant_id, account_id, 'folder', id, 'created' FROM new_rows`,
  },
  {
    table: 'mail_folders',
    event: 'UPDATE',
    changes: `SELECT n.tenant_id, n.account_id, 'folder', n.id, 'updated' ${UPDATED_PAIRS} WHERE ${changed(FOLDER_VISIBLE)}`,
  },
  {
    table: 'mail_folders',
    event: 'DELETE',
    changes: `SELECT tenant_id, account_id, 'folder', id, 'deleted' FROM old_rows`,
  },
  { table: 'drafts', event: 'INSERT', changes: `SELECT tenant_id, account_id, 'draft', id, 'created' FROM new_rows` },
  {
    table: 'drafts',
    event: 'UPDATE',
    changes: `SELECT n.tenant_id, n.account_id, 'draft', n.id, 'updated' ${UPDATED_PAIRS} WHERE ${changed(['version'])}`,
  },
  { table: 'drafts', event: 'DELETE', changes: `SELECT tenant_id, account_id, 'draft', id, 'deleted' FROM old_rows` },
  {
    table: 'send_records',
    event: 'INSERT',
    changes: `SELECT tenant_id, account_id, 'send', id, 'created' FROM new_rows`,
  },
  {
    table: 'send_records',
    event: 'UPDATE',
    changes: `SELECT n.tenant_id, n.account_id, 'send', n.id, 'updated' ${UPDATED_PAIRS} WHERE ${changed(['state'])}`,
  },
  {
    table: 'sync_runs',
    event: 'UPDATE',
    changes: `SELECT n.tenant_id, n.account_id, 'sync', n.id, 'completed' ${UPDATED_PAIRS}
      WHERE o.finished_at IS NULL AND n.finished_at IS NOT NULL`,
  },
  {
    table: 'mail_accounts',
    event: 'UPDATE',
    changes: `SELECT n.tenant_id, n.id, 'account', n.id, 'error' ${UPDATED_PAIRS}
      WHERE n.last_error IS NOT NULL AND n.last_error IS DISTINCT FROM o.last_error`,
  },
];

function triggerName({ table, event }: TrackedStatement): string {
  return `log_${table}_${event.toLowerCase()}`;
}

/**
 * The per-account change log behind GET /api/changes, server-sent events and webhooks.
 *
 * Statement-level triggers on the tracked tables stage every change in the writing transaction,
 * so no writer can forget one and a rolled-back write logs nothing. Numbering waits for COMMIT: a
 * deferred constraint trigger takes the account's row in `change_sequences`, numbers the staged
 * changes after the last committed ones and moves them into `change_log`. Holding that row lock
 * from numbering to commit means an account's changes become visible in sequence order, so a
 * reader asking for `seq > cursor` can never skip a transaction that commits late; and because it
 * is the last thing a transaction does, it cannot deadlock with the row locks of the writes. The
 * staging tables are unlogged: their rows never outlive the transaction that wrote them.
 *
 * The commit also notifies channel `change_log` with `<tenant> <account> <last seq>`; listeners
 * still read the log itself, so a notification lost only delays an event.
 */
export class ChangeLog1795915000000 implements MigrationInterface {
  name = 'ChangeLog1795915000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "change_log" (
        "tenant_id" character varying(64) NOT NULL,
        "account_id" uuid NOT NULL,
        "seq" bigint NOT NULL,
        "type" character varying(16) NOT NULL,
        "entity_id" uuid NOT NULL,
        "op" character varying(16) NOT NULL,
        "at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "PK_change_log" PRIMARY KEY ("account_id", "seq"),
        CONSTRAINT "fk_change_log_account" FOREIGN KEY ("account_id") REFERENCES "mail_accounts"("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(`CREATE INDEX "idx_change_log_tenant_at" ON "change_log" ("tenant_id", "at")`);
    // pruned_through: the highest seq retention has deleted; a cursor below it has missed changes.
    await queryRunner.query(`
      CREATE TABLE "change_sequences" (
        "account_id" uuid NOT NULL,
        "tenant_id" character varying(64) NOT NULL,
        "last_seq" bigint NOT NULL DEFAULT 0,
        "pruned_through" bigint NOT NULL DEFAULT 0,
        CONSTRAINT "PK_change_sequences" PRIMARY KEY ("account_id"),
        CONSTRAINT "fk_change_sequences_account" FOREIGN KEY ("account_id") REFERENCES "mail_accounts"("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(`
      CREATE UNLOGGED TABLE "pending_changes" (
        "id" bigint GENERATED ALWAYS AS IDENTITY,
        "xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
        "tenant_id" character varying(64) NOT NULL,
        "account_id" uuid NOT NULL,
        "type" character varying(16) NOT NULL,
        "entity_id" uuid NOT NULL,
        "op" character varying(16) NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "idx_pending_changes_xid" ON "pending_changes" ("xid", "account_id")`);
    await queryRunner.query(`
      CREATE UNLOGGED TABLE "pending_change_flushes" (
        "xid" xid8 NOT NULL,
        "tenant_id" character varying(64) NOT NULL,
        "account_id" uuid NOT NULL,
        CONSTRAINT "PK_pending_change_flushes" PRIMARY KEY ("xid", "account_id")
      )`);
    for (const table of NEW_TABLES) {
      await queryRunner.query(`ALTER TABLE "${table}" ENABLE ROW LEVEL SECURITY`);
      await queryRunner.query(`ALTER TABLE "${table}" FORCE ROW LEVEL SECURITY`);
      await queryRunner.query(`CREATE POLICY "tenant_isolation" ON "${table}" ${TENANT_POLICY}`);
    }

    // One change per entity and transaction, as a reader comparing before and after would see it:
    // stored then flagged is created, stored then removed is nothing, emptied then refilled is updated.
    await queryRunner.query(`
      CREATE FUNCTION "sequence_pending_changes"() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        last bigint;
      BEGIN
        WITH moved AS (
          DELETE FROM "pending_changes" WHERE "xid" = NEW."xid" AND "account_id" = NEW."account_id"
          RETURNING "id", "type", "entity_id", "op"
        ), ops AS (
          SELECT "type", "entity_id", min("id") AS "first",
                 (array_agg("op" ORDER BY "id"))[1] AS "first_op", (array_agg("op" ORDER BY "id" DESC))[1] AS "last_op"
          FROM moved GROUP BY 1, 2
        ), distinct_changes AS (
          SELECT "type", "entity_id", "first",
                 CASE WHEN "first_op" = 'created' AND "last_op" = 'deleted' THEN NULL
                      WHEN "first_op" = 'deleted' AND "last_op" = 'created' THEN 'updated'
                      WHEN "first_op" = 'created' THEN 'created'
                      ELSE "last_op" END AS "op"
          FROM ops
        ), numbered AS (
          SELECT "type", "entity_id", "op", row_number() OVER (ORDER BY "first") AS "position",
                 count(*) OVER () AS "total"
          FROM distinct_changes WHERE "op" IS NOT NULL
        ), advanced AS (
          INSERT INTO "change_sequences" ("account_id", "tenant_id", "last_seq")
          SELECT NEW."account_id", NEW."tenant_id", count(*) FROM distinct_changes
          WHERE "op" IS NOT NULL AND EXISTS (SELECT 1 FROM "mail_accounts" WHERE "id" = NEW."account_id")
          ON CONFLICT ("account_id") DO UPDATE SET "last_seq" = "change_sequences"."last_seq" + EXCLUDED."last_seq"
          RETURNING "last_seq"
        ), logged AS (
          INSERT INTO "change_log" ("tenant_id", "account_id", "seq", "type", "entity_id", "op", "at")
          SELECT NEW."tenant_id", NEW."account_id", a."last_seq" - n."total" + n."position", n."type", n."entity_id", n."op",
                 clock_timestamp()
          FROM numbered n CROSS JOIN advanced a
          RETURNING "seq"
        )
        SELECT max("seq") INTO last FROM logged;
        DELETE FROM "pending_change_flushes" WHERE "xid" = NEW."xid" AND "account_id" = NEW."account_id";
        IF last IS NOT NULL THEN
          PERFORM pg_notify('change_log', NEW."tenant_id" || ' ' || NEW."account_id" || ' ' || last);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE CONSTRAINT TRIGGER "sequence_pending_changes" AFTER INSERT ON "pending_change_flushes"
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "sequence_pending_changes"()`);

    for (const tracked of TRACKED) {
      const name = triggerName(tracked);
      const transition =
        tracked.event === 'DELETE'
          ? 'OLD TABLE AS old_rows'
          : tracked.event === 'INSERT'
            ? 'NEW TABLE AS new_rows'
            : 'NEW TABLE AS new_rows OLD TABLE AS old_rows';
      await queryRunner.query(`
        CREATE FUNCTION "${name}"() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          ${stageChanges(tracked.changes)};
          RETURN NULL;
        END $$`);
      await queryRunner.query(`
        CREATE TRIGGER "${name}" AFTER ${tracked.event} ON "${tracked.table}"
        REFERENCING ${transition} FOR EACH STATEMENT EXECUTE FUNCTION "${name}"()`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const tracked of TRACKED) {
      const name = triggerName(tracked);
      await queryRunner.query(`DROP TRIGGER "${name}" ON "${tracked.table}"`);
      await queryRunner.query(`DROP FUNCTION "${name}"()`);
    }
    await queryRunner.query(`DROP TABLE "pending_change_flushes"`);
    await queryRunner.query(`DROP FUNCTION "sequence_pending_changes"()`);
    await queryRunner.query(`DROP TABLE "pending_changes"`);
    await queryRunner.query(`DROP TABLE "change_sequences"`);
    await queryRunner.query(`DROP TABLE "change_log"`);
  }
}
