import { randomUUID } from 'node:crypto';

import { AppConfig, ConfigModule } from '@app/config';
import { dataSourceOptions, MessageActionRepository, TenantRepository } from '@app/database';
import { TenancyModule, TenantContext } from '@app/tenancy';
import { Module } from '@nestjs/common';
import type { DynamicModule, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import pg from 'pg';

import { insertMailbox } from '../../../api/test/messages-fixture.js';
import type { Mailbox } from '../../../api/test/messages-fixture.js';
import { crossTenantTestConfig } from '../../../../test/support/test-config.js';
import { UNSETTLED_ACTION_LOCK_KEY, UNSETTLED_ACTION_REASON, UnsettledActionCron } from './unsettled-action.cron.js';

@Module({})
class UnsettledActionTestModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: UnsettledActionTestModule,
      imports: [ConfigModule.forRoot(config), TypeOrmModule.forRoot({ ...dataSourceOptions(config, 'email_service-unsettled-test'), migrations: [] }), TenancyModule],
      providers: [TenantRepository, MessageActionRepository, UnsettledActionCron],
    };
  }
}

const FOLDERS = [{ path: 'INBOX', role: 'inbox' }, { path: 'Archive', role: 'archive' }, { path: 'Trash', role: 'trash' }];
const RECEIVED = '2026-01-05T10:00:00Z';

interface ActionRow {
  id: string;
  state: string;
  error: string | null;
}

interface MessageRow {
  folder_id: string;
  uid: string;
  flags: string[];
  action_error: { action: string; message: string } | null;
}

describe('UnsettledActionCron', () => {
  const tenants = [`unsettled-a-${randomUUID().slice(0, 8)}`, `unsettled-b-${randomUUID().slice(0, 8)}`] as const;
  const ownerUrl = process.env.TEST_CROSS_TENANT_DATABASE_MIGRATION_URL;
  let app: INestApplicationContext;
  let owner: pg.Client;
  let a: Mailbox;
  let b: Mailbox;

  const inTenant = <T>(tenantId: string, work: () => Promise<T>): Promise<T> => app.get(TenantContext).run(tenantId, work);

  async function request(mailbox: Mailbox, action: (repository: MessageActionRepository) => Promise<{ actionId: string | null }>): Promise<string> {
    const { actionId } = await inTenant(mailbox.tenantId, () => action(app.get(MessageActionRepository)));
    if (!actionId) throw new Error('nothing was requested');
    return actionId;
  }

  /** As if they had been requested `minutes` ago; their order stays as it was. */
  async function age(actionIds: string[], minutes: number): Promise<void> {
    await owner.query(`UPDATE mail_message_actions SET created_at = created_at - make_interval(mins => $2) WHERE id = ANY($1::uuid[])`, [actionIds, minutes]);
  }

  async function actions(ids: string[]): Promise<ActionRow[]> {
    const result = await owner.query<ActionRow>('SELECT id, state, error FROM mail_message_actions WHERE id = ANY($1::uuid[])', [ids]);
    return ids.map((id) => result.rows.find((row) => row.id === id) ?? { id, state: 'missing', error: null });
  }

  async function message(id: string | undefined): Promise<MessageRow | null> {
    const result = await owner.query<MessageRow>('SELECT folder_id, uid::text AS uid, flags, action_error FROM mail_messages WHERE id = $1', [id]);
    return result.rows[0] ?? null;
  }

  beforeAll(async () => {
    app = await NestFactory.createApplicationContext(UnsettledActionTestModule.forRoot(crossTenantTestConfig()), { logger: false, abortOnError: false });
    owner = new pg.Client({ connectionString: ownerUrl });
    await owner.connect();
    a = await insertMailbox(tenants[0], `owner@${tenants[0]}.example.test`, FOLDERS, [
      { key: 'read-twice', folder: 'INBOX', receivedAt: RECEIVED, flags: [] },
      { key: 'moved', folder: 'INBOX', receivedAt: RECEIVED, flags: ['\\Seen'] },
      { key: 'expunged', folder: 'Trash', receivedAt: RECEIVED, flags: ['\\Seen'], attachments: [{ partId: '2', filename: 'kept.pdf', contentType: 'application/pdf', size: 10 }] },
      { key: 'recent', folder: 'INBOX', receivedAt: RECEIVED, flags: [] },
    ], ownerUrl);
    b = await insertMailbox(tenants[1], `owner@${tenants[1]}.example.test`, FOLDERS, [{ key: 'trashed', folder: 'INBOX', receivedAt: RECEIVED, flags: [] }], ownerUrl);
  });

  afterAll(async () => {
    await owner?.end();
    await app?.close();
  });

  it('undoes, in every tenant, what stayed pending for 15 minutes as a server refusal would, newest first, and leaves recent actions alone', async () => {
    const m = a.messageIds;
    const markedRead = await request(a, (repository) => repository.requestFlags(m['read-twice'] ?? '', { seen: true }));
    const markedUnread = await request(a, (repository) => repository.requestFlags(m['read-twice'] ?? '', { seen: false }));
    const moved = await request(a, (repository) => repository.requestMove(m.moved ?? '', 'Archive'));
    const expunged = await request(a, (repository) => repository.requestDelete(m.expunged ?? ''));
    const trashed = await request(b, (repository) => repository.requestDelete(b.messageIds.trashed ?? ''));
    const recent = await request(a, (repository) => repository.requestFlags(m.recent ?? '', { flagged: true }));
    expect(await message(m.expunged)).toBeNull();
    expect((await message(b.messageIds.trashed))?.folder_id).toBe(b.folderIds.Trash);

    const stale = [markedRead, markedUnread, moved, expunged, trashed];
    await age(stale, 16);
    await age([recent], 14);
    const result = await app.get(UnsettledActionCron).run();

    expect(result).toMatchObject({ state: 'settled', failed: 0 });
    expect(result.state === 'settled' && result.reverted).toBeGreaterThanOrEqual(stale.length);
    expect(await actions(stale)).toEqual(stale.map((id) => ({ id, state: 'failed', error: UNSETTLED_ACTION_REASON })));
    expect(await actions([recent])).toEqual([{ id: recent, state: 'pending', error: null }]);

    // Read then unread, undone in reverse: unread as before. Undone oldest first it would end up read.
    expect(await message(m['read-twice'])).toMatchObject({ flags: [], action_error: { action: 'flags', message: UNSETTLED_ACTION_REASON } });
    expect(await message(m.moved)).toMatchObject({ folder_id: a.folderIds.INBOX, uid: '2', flags: ['\\Seen'], action_error: { action: 'move', message: UNSETTLED_ACTION_REASON } });
    expect(await message(m.expunged)).toMatchObject({ folder_id: a.folderIds.Trash, uid: '3', flags: ['\\Seen'], action_error: { action: 'delete', message: UNSETTLED_ACTION_REASON } });
    const attachments = await owner.query<{ filename: string }>('SELECT filename FROM mail_attachments WHERE message_id = $1', [m.expunged]);
    expect(attachments.rows).toEqual([{ filename: 'kept.pdf' }]);
    expect(await message(b.messageIds.trashed)).toMatchObject({ folder_id: b.folderIds.INBOX, uid: '1', action_error: { action: 'delete', message: UNSETTLED_ACTION_REASON } });
    expect(await message(m.recent)).toMatchObject({ flags: ['\\Flagged'], action_error: null });

    // Settled once: a second run, or the lost job turning up, has nothing left to undo.
    await expect(app.get(UnsettledActionCron).run()).resolves.toMatchObject({ state: 'settled', failed: 0 });
    expect(await message(m['read-twice'])).toMatchObject({ flags: [] });
  });

  it('lets only one scheduler replica act at a time', async () => {
    const flagged = await request(b, (repository) => repository.requestFlags(b.messageIds.trashed ?? '', { flagged: true }));
    await age([flagged], 20);
    const otherReplica = new pg.Client({ connectionString: ownerUrl });
    await otherReplica.connect();
    try {
      await otherReplica.query('SELECT pg_advisory_lock($1)', [UNSETTLED_ACTION_LOCK_KEY]);
      await expect(app.get(UnsettledActionCron).run()).resolves.toEqual({ state: 'skipped', reason: 'another scheduler holds the lock' });
      expect(await actions([flagged])).toEqual([{ id: flagged, state: 'pending', error: null }]);
      await otherReplica.query('SELECT pg_advisory_unlock($1)', [UNSETTLED_ACTION_LOCK_KEY]);

      await expect(app.get(UnsettledActionCron).run()).resolves.toMatchObject({ state: 'settled' });
      expect(await actions([flagged])).toEqual([{ id: flagged, state: 'failed', error: UNSETTLED_ACTION_REASON }]);
      expect(await message(b.messageIds.trashed)).toMatchObject({ flags: [] });
    } finally {
      await otherReplica.end();
    }
  });
});
