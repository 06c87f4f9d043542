import { AppConfig } from '@app/config';
import {
  AccountRepository,
  FolderRepository,
  isDatabaseUnavailable,
  MessageRepository,
  SyncRunRepository,
} from '@app/database';
import type { MailFolder, SpecialUseRole, SyncRunStats } from '@app/database';
import {
  AccountMailSettings,
  AccountNotFoundError,
  openImapSession,
  OutboundPolicy,
  serverReason,
  withTimeout,
} from '@app/mail';
import type { ImapSession } from '@app/mail';
import type { SyncAccountPayload } from '@app/queue';
import { Injectable, Logger } from '@nestjs/common';
import type { ListResponse } from 'imapflow';

import { FolderSyncService } from './folder-sync.service.js';
import type { ServerCapabilities } from './folder-sync.service.js';
import { SyncLease } from './sync-lease.js';

const ROLE_OF_SPECIAL_USE: Readonly<Record<string, SpecialUseRole>> = {
  '\\Inbox': 'inbox',
  '\\Drafts': 'drafts',
  '\\Sent': 'sent',
  '\\Trash': 'trash',
  '\\Junk': 'junk',
  '\\Archive': 'archive',
  '\\All': 'all',
  '\\Flagged': 'flagged',
};

/**
 * The order folders are synced in: where a user looks first. Virtual folders (\All, \Flagged)
 * repeat mail stored elsewhere, and junk and trash are what a user reads last.
 */
const SYNC_RANK: Readonly<Record<SpecialUseRole, number>> = {
  inbox: 0,
  sent: 1,
  drafts: 2,
  archive: 3,
  flagged: 5,
  all: 6,
  junk: 7,
  trash: 8,
};
/** Folders without a special use: between the archive and the virtual folders. */
const OTHER_FOLDER_RANK = 4;

/**
 * A run that wrote at least this many message rows, and at least this share of the table's
 * estimated rows, ANALYZEs the tables it filled: the planner would otherwise keep planning for
 * the table as it was (a sort of a whole folder instead of an index walk) until autovacuum gets to
 * it. Below these, a sample changes little and autovacuum's own thresholds suffice.
 */
const ANALYZE_MIN_ROWS = 1_000;
const ANALYZE_MIN_SHARE = 0.1;

const BACKOFF_BASE_MS = 60_000;
const BACKOFF_MAX_MS = 6 * 3600_000;

export type AccountSyncOutcome =
  | { state: 'busy' }
  /** Stopped by PostgreSQL going away: the run stays open and resumes from its last stored batch. */
  | { state: 'interrupted'; reason: string }
  | { state: 'skipped'; reason: string }
  | {
      state: 'succeeded' | 'failed';
      syncRunId: string;
      /** Skipped: unchanged on the server; deferred: still backing off after failing. */
      stats: SyncRunStats & { foldersSkipped: number; foldersDeferred: number; foldersFailed: number };
      error: string | null;
    };

/** Exponential backoff after consecutive failures, so a broken account is retried less and less often. */
export function nextAttemptAfter(failureCount: number, now = Date.now()): Date {
  return new Date(now + Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failureCount - 1)));
}

type SyncOrderKey = Pick<MailFolder, 'role' | 'path'> & { messages: number };

/** Sorts folders by role (SYNC_RANK), then smaller first, as they complete in a batch or two. */
export function compareSyncOrder(a: SyncOrderKey, b: SyncOrderKey): number {
  const rank = (folder: SyncOrderKey): number => (folder.role ? SYNC_RANK[folder.role] : OTHER_FOLDER_RANK);
  return rank(a) - rank(b) || a.messages - b.messages || a.path.localeCompare(b.path);
}

function roleOf(entry: ListResponse): SpecialUseRole | null {
  if (entry.path.toUpperCase() === 'INBOX') return 'inbox';
  return entry.specialUse ? (ROLE_OF_SPECIAL_USE[entry.specialUse] ?? null) : null;
}

function isSelectable(entry: ListResponse): boolean {
  return !entry.flags.has('\\Noselect') && !entry.flags.has('\\NonExistent');
}

/**
 * One sync of one account: takes the account's lease, records a SyncRun, lists the folders
 * (LIST + SPECIAL-USE + STATUS in one round trip where LIST-STATUS is offered), reconciles new,
 * deleted and renamed folders, and syncs each folder on its own so one failing folder does not
 * stop the others. Account-level failures are recorded with a backoff, never thrown at the worker.
 * PostgreSQL going away is nobody's failure: the run is left open for the job to resume.
 */
@Injectable()
export class AccountSyncService {
  private readonly logger = new Logger(AccountSyncService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly accounts: AccountRepository,
    private readonly folders: FolderRepository,
    private readonly messages: MessageRepository,
    private readonly runs: SyncRunRepository,
    private readonly mailSettings: AccountMailSettings,
    private readonly folderSync: FolderSyncService,
    private readonly lease: SyncLease,
    private readonly outboundPolicy: OutboundPolicy,
  ) {}

  /** Must run inside the payload's tenant context. */
  async run(payload: SyncAccountPayload, jobId: string | null): Promise<AccountSyncOutcome> {
    const account = await this.accounts.findById(payload.accountId);
    if (!account) return { state: 'skipped', reason: 'account not found' };
    if (!account.active) return { state: 'skipped', reason: 'account is not active' };
    if (account.authState === 'reauth_required')
      return { state: 'skipped', reason: 'the account needs to be authorised again' };
    // The cron enqueues only accounts that are due; this catches jobs queued before the last
    // failure (and push triggers). A user asking for a sync gets one regardless.
    if (payload.trigger !== 'manual' && account.nextSyncAfter && account.nextSyncAfter.getTime() > Date.now()) {
      return {
        state: 'skipped',
        reason: `backing off after ${account.failureCount} failed sync(s) until ${account.nextSyncAfter.toISOString()}`,
      };
    }

    if (payload.syncRunId && (await this.runs.findById(payload.syncRunId))?.finishedAt) {
      // A second job of a run already done (the scheduler enqueued it again while the first still ran).
      return { state: 'skipped', reason: 'the sync run has finished already' };
    }

    const lease = await this.lease.acquire(payload.tenantId, payload.accountId);
    if (!lease) return { state: 'busy' };
    const stats = {
      foldersSynced: 0,
      foldersSkipped: 0,
      foldersDeferred: 0,
      foldersFailed: 0,
      messagesAdded: 0,
      messagesUpdated: 0,
      messagesRemoved: 0,
    };
    let runId = payload.syncRunId ?? null;
    let session: ImapSession | null = null;
    try {
      const existing = runId ? await this.runs.findById(runId) : null;
      runId =
        existing?.id ??
        (
          await this.runs.create({
            accountId: account.id,
            trigger: payload.trigger,
            full: payload.full ?? false,
            jobId,
          })
        ).id;
      await this.runs.markRunning(runId, jobId);
      await this.runs.failUnfinished(account.id, runId, 'superseded: the worker running it stopped before finishing');
      await this.accounts.update(account.id, { syncState: 'running' });

      session = await this.openSession(account.id);
      const client = session.client;
      const startedAt = Date.now();
      const capabilities: ServerCapabilities = {
        condstore: client.enabled.has('CONDSTORE'),
        qresync: client.enabled.has('QRESYNC'),
      };
      const listing = await withTimeout(
        'list',
        this.config.mail.imapTimeoutMs,
        client.list({
          statusQuery: {
            messages: true,
            uidNext: true,
            uidValidity: true,
            unseen: true,
            highestModseq: capabilities.condstore,
          },
        }),
        () => client.close(),
      );
      const folders = await this.reconcileFolders(account.id, listing.filter(isSelectable));
      const wanted = payload.folder ? folders.filter((entry) => entry.folder.path === payload.folder) : folders;

      const failures: string[] = [];
      for (const { folder, entry } of wanted) {
        if (payload.trigger !== 'manual' && folder.nextSyncAfter && folder.nextSyncAfter.getTime() > startedAt) {
          stats.foldersDeferred += 1;
          continue;
        }
        if (!session.client.usable) {
          // The previous folder's failure (a timeout closes the socket) must not cost the others
          // their sync; a server that refuses the new connection fails the account instead.
          await session.close().catch(() => undefined);
          session = await this.openSession(account.id);
        }
        try {
          const result = await this.folderSync.sync({
            session,
            tenantId: payload.tenantId,
            accountId: account.id,
            folder,
            status: entry.status,
            capabilities,
            full: payload.full ?? false,
            parse: this.config.features.emailParsing,
            signal: lease.signal,
          });
          if (result.skipped) stats.foldersSkipped += 1;
          else stats.foldersSynced += 1;
          stats.messagesAdded += result.added;
          stats.messagesUpdated += result.updated;
          stats.messagesRemoved += result.removed;
        } catch (error: unknown) {
          // Neither is the folder's fault, so neither may cost it a failure and a backoff.
          if (lease.signal.aborted || isDatabaseUnavailable(error)) throw error;
          const reason = serverReason(error);
          stats.foldersFailed += 1;
          failures.push(`${folder.path}: ${reason}`);
          this.logger.warn({ accountId: account.id, folder: folder.path, reason }, 'Folder sync failed');
          const failureCount = folder.failureCount + 1;
          await this.folders
            .recordFailure(folder.id, reason, failureCount, nextAttemptAfter(failureCount))
            .catch(() => undefined);
        }
      }

      const error = failures.length > 0 ? `${failures.length} folder(s) failed: ${failures.join('; ')}` : null;
      await this.accounts.update(account.id, {
        syncState: 'idle',
        lastSyncedAt: new Date(),
        lastError: error,
        lastErrorAt: error ? new Date() : null,
        failureCount: 0,
        nextSyncAfter: null,
      });
      await this.runs.finish(runId, 'succeeded', stats, error);
      await this.refreshStatistics(account.id, stats.messagesAdded + stats.messagesUpdated + stats.messagesRemoved);
      return { state: 'succeeded', syncRunId: runId, stats, error };
    } catch (error: unknown) {
      if (lease.signal.aborted) {
        // The lease ran out (Redis unreachable past its TTL) or another worker took it over: no
        // fault of the account, so no failure or backoff is recorded. The run stays open and the
        // job comes back like one that found the account busy, resuming from the last batch.
        this.logger.warn(
          { accountId: account.id, reason: this.describe(error) },
          'Account sync stopped: its lease was lost; it will resume',
        );
        return { state: 'busy' };
      }
      if (isDatabaseUnavailable(error)) {
        // Our own store went away (restart, failover): the account is not to blame and nothing
        // about it could be recorded anyway. The run stays open for the job to resume it.
        const reason = this.describe(error);
        this.logger.warn(
          { accountId: account.id, reason },
          'Account sync interrupted: the database is unavailable; it will resume',
        );
        return { state: 'interrupted', reason };
      }
      const reason = this.describe(error);
      this.logger.warn({ accountId: account.id, reason }, 'Account sync failed');
      const failureCount = account.failureCount + 1;
      const recorded = await this.accounts
        .update(account.id, {
          syncState: 'failed',
          lastError: reason,
          lastErrorAt: new Date(),
          failureCount,
          nextSyncAfter: nextAttemptAfter(failureCount),
        })
        .then(
          () => true,
          () => false,
        );
      if (runId) await this.runs.finish(runId, 'failed', stats, reason).catch(() => undefined);
      // The database is unreachable, so neither the failure nor a backoff could be stored and the
      // account would stay "running" until the next cron: the job's own retries take it instead.
      if (!recorded) throw error;
      return runId ? { state: 'failed', syncRunId: runId, stats, error: reason } : { state: 'skipped', reason };
    } finally {
      await session?.close().catch(() => undefined);
      await lease.release();
    }
  }

  /** Statistics only steer plans: a failure to refresh them is logged, never the run's failure. */
  private async refreshStatistics(accountId: string, changedRows: number): Promise<void> {
    if (changedRows < ANALYZE_MIN_ROWS) return;
    try {
      const estimate = await this.messages.estimatedRowCount();
      if (changedRows < ANALYZE_MIN_SHARE * estimate) return;
      await this.messages.refreshStatistics();
    } catch (error: unknown) {
      this.logger.warn({ accountId, reason: serverReason(error) }, 'Refreshing table statistics failed');
    }
  }

  /**
   * Credentials are read afresh for every connection: an OAuth2 token may have expired since the
   * last one (a long sync outlives short-lived tokens), and a refused one is refreshed once.
   */
  private async openSession(accountId: string): Promise<ImapSession> {
    return this.mailSettings.withLoginRetry(await this.mailSettings.forAccount(accountId), (connection) =>
      openImapSession(this.outboundPolicy, connection.imap, this.config.mail.imapTimeoutMs),
    );
  }

  private describe(error: unknown): string {
    if (error instanceof AccountNotFoundError) return 'account not found';
    return serverReason(error);
  }

  /**
   * Matches the server's folders with the stored ones. A stored folder that is gone while a new
   * path shows up with its UIDVALIDITY was renamed (servers keep UIDVALIDITY across RENAME), so
   * its messages stay; other vanished folders are deleted with their messages. Returned in sync
   * order (compareSyncOrder).
   */
  private async reconcileFolders(
    accountId: string,
    listing: ListResponse[],
  ): Promise<{ folder: MailFolder; entry: ListResponse }[]> {
    const stored = await this.folders.listForAccount(accountId);
    const byPath = new Map(stored.map((folder) => [folder.path, folder]));
    const listedPaths = new Set(listing.map((entry) => entry.path));
    const gone = stored.filter((folder) => !listedPaths.has(folder.path));
    const result: { folder: MailFolder; entry: ListResponse }[] = [];

    for (const entry of listing) {
      const role = roleOf(entry);
      const delimiter = entry.delimiter || null;
      let folder = byPath.get(entry.path);
      if (!folder) {
        const uidValidity = entry.status?.uidValidity?.toString();
        const renamed = uidValidity ? gone.filter((candidate) => candidate.uidValidity === uidValidity) : [];
        const [previous] = renamed;
        if (previous && renamed.length === 1) {
          gone.splice(gone.indexOf(previous), 1);
          await this.folders.rename(previous.id, entry.path, entry.name, delimiter, role);
          folder = { ...previous, path: entry.path, name: entry.name, delimiter, role };
        } else {
          folder = await this.folders.create({ accountId, path: entry.path, name: entry.name, delimiter, role });
        }
      } else if (folder.role !== role || folder.delimiter !== delimiter) {
        await this.folders.updateListing(folder.id, delimiter, role);
      }
      result.push({ folder, entry });
    }
    await this.folders.delete(gone.map((folder) => folder.id));
    return result.sort((a, b) =>
      compareSyncOrder(
        { ...a.folder, messages: a.entry.status?.messages ?? 0 },
        { ...b.folder, messages: b.entry.status?.messages ?? 0 },
      ),
    );
  }
}
