import { setTimeout as sleep } from 'node:timers/promises';

import type { AppConfig } from '@app/config';
import type { FolderRepository, WatchState } from '@app/database';
import {
  AccountNotFoundError,
  AccountReauthRequiredError,
  MailServerLoginError,
  openImapSession,
  serverReason,
  withTimeout,
} from '@app/mail';
import type { AccountMailSettings, ImapSession, OutboundPolicy } from '@app/mail';
import type { TenantContext } from '@app/tenancy';
import type { Logger } from '@nestjs/common';

import { changedFolders } from './folder-changes.js';
import type { PushSyncTrigger } from './push-sync-trigger.js';
import { ReconnectBackoff } from './reconnect-backoff.js';

/** Re-issued well before RFC 2177's 30 minutes, after which a server may drop an idle client. */
const MAX_IDLE_MS = 25 * 60_000;
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 5 * 60_000;
/** A connection up this long was healthy: the next drop reconnects at the base delay again. */
const STABLE_CONNECTION_MS = 60_000;
const INBOX = 'INBOX';

export interface AccountWatcherDeps {
  config: AppConfig;
  tenantContext: TenantContext;
  mailSettings: AccountMailSettings;
  outboundPolicy: OutboundPolicy;
  folders: FolderRepository;
  trigger: PushSyncTrigger;
  logger: Logger;
  /** Stores a state change for the sync status; called in the account's tenant context. */
  onState(state: WatchState, lastError: string | null): Promise<void>;
  /** Notes that the server reported a change (the status's lastEventAt). */
  onEvent(): Promise<void>;
}

/** `idle`: INBOX in IDLE on a connection kept open; `poll`: connect, compare STATUS, disconnect, every poll interval. */
export type WatchMode = 'idle' | 'poll';

/**
 * The watch of one account, for as long as this replica holds its lease. INBOX is kept in IDLE
 * and every EXISTS, EXPUNGE or FETCH it reports enqueues an incremental sync of INBOX; every
 * other folder is compared by STATUS with the stored sync state every WATCH_POLL_SECONDS (the
 * server's NOTIFY is not used: imapflow cannot issue it). After each (re)connection every folder
 * is compared once, so nothing delivered while the connection was down is missed. A refused
 * login ends the watch (state off) until the account changes; other failures reconnect with
 * backoff. Server without IDLE, or a replica past its connection cap: everything is polled.
 */
export class AccountWatcher {
  private current: WatchState = 'off';
  private readonly stopping = new AbortController();
  private session: ImapSession | null = null;
  private loop: Promise<void> | null = null;
  private eventRecordPending = false;
  private readonly backoff = new ReconnectBackoff({
    baseMs: BACKOFF_BASE_MS,
    maxMs: BACKOFF_MAX_MS,
    stableMs: STABLE_CONNECTION_MS,
  });
  /** Set when the watch ended by itself (login refused): the supervisor restarts it once the account changed. */
  ended = false;

  constructor(
    readonly tenantId: string,
    readonly accountId: string,
    readonly mode: WatchMode,
    private readonly deps: AccountWatcherDeps,
  ) {}

  get state(): WatchState {
    return this.current;
  }

  start(): void {
    this.loop = this.run().catch((error: unknown) => {
      this.deps.logger.error({ err: error, accountId: this.accountId }, 'Account watch stopped unexpectedly');
    });
  }

  /** Closes the connection and waits for the watch to end; it records nothing after this. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.deps.trigger.forget(this.accountId);
    this.session?.client.close();
    await this.loop;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let connectedAt: number | null = null;
      let failure: unknown;
      try {
        this.session = await this.asTenant(async () =>
          this.deps.mailSettings.withLoginRetry(await this.deps.mailSettings.forAccount(this.accountId), (connection) =>
            openImapSession(this.deps.outboundPolicy, connection.imap, this.deps.config.mail.imapTimeoutMs, {
              maxIdleTimeMs: MAX_IDLE_MS,
            }),
          ),
        );
        connectedAt = Date.now();
        if (this.mode === 'idle' && this.session.client.capabilities.has('IDLE')) {
          await this.watchInbox(this.session);
          failure = this.session.lastError() ?? new Error('the server closed the connection');
        } else {
          await this.checkFolders(this.session);
          await this.session.close();
          this.session = null;
          this.backoff.reset();
          await this.setState('polling', null);
          await sleep(this.deps.config.worker.watch.pollMs, undefined, { signal: this.stopping.signal }).catch(
            () => undefined,
          );
          continue;
        }
      } catch (error: unknown) {
        failure = error;
      } finally {
        await this.session?.close().catch(() => undefined);
        this.session = null;
      }
      if (this.stopped) return;
      if (failure instanceof MailServerLoginError) {
        // Retrying a refused password gets accounts locked and servers to block the service.
        this.deps.logger.warn(
          { accountId: this.accountId, reason: failure.reason },
          'Account watch off: login refused',
        );
        await this.setState('off', failure.message);
        this.ended = true;
        return;
      }
      if (failure instanceof AccountReauthRequiredError) {
        // The supervisor drops the account at its next renewal; until new tokens arrive there is nothing to log in with.
        await this.setState('off', failure.message);
        this.ended = true;
        return;
      }
      if (failure instanceof AccountNotFoundError) return;
      const reason = serverReason(failure);
      const delayMs = this.backoff.nextDelayMs(connectedAt === null ? null : Date.now() - connectedAt);
      this.deps.logger.warn(
        { accountId: this.accountId, reason, delayMs },
        'Account watch connection lost; reconnecting',
      );
      await this.setState('backoff', reason);
      await sleep(delayMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }

  /** Returns when the connection ends (or the watch is stopped). */
  private async watchInbox(session: ImapSession): Promise<void> {
    const client = session.client;
    const timeoutMs = this.deps.config.mail.imapTimeoutMs;
    const onChange = (event: { path: string }): void => {
      if (event.path !== INBOX || this.stopped) return;
      this.deps.trigger.request(this.tenantId, this.accountId, INBOX);
      this.noteEvent();
    };
    client.on('exists', onChange);
    client.on('expunge', onChange);
    client.on('flags', onChange);
    const poller = setInterval(() => {
      if (client.usable) void this.checkFolders(session).catch(() => undefined);
    }, this.deps.config.worker.watch.pollMs);
    try {
      await withTimeout('select', timeoutMs, client.mailboxOpen(INBOX, { readOnly: true }), () => client.close());
      await this.checkFolders(session);
      await this.setState('watching', null);
      while (!this.stopped && client.usable) {
        // Returns when IDLE is broken: the folder poll's STATUS, imapflow's keepalive NOOP, or
        // the connection closing. The mailbox stays selected across all but the last.
        await client.idle({ whenFree: true });
        if (client.usable && client.mailbox && client.mailbox.path !== INBOX)
          await withTimeout('select', timeoutMs, client.mailboxOpen(INBOX, { readOnly: true }), () => client.close());
      }
    } finally {
      clearInterval(poller);
      client.off('exists', onChange);
      client.off('expunge', onChange);
      client.off('flags', onChange);
    }
  }

  /** One LIST-STATUS round trip, compared with the stored sync state; changed folders get a push sync. */
  private async checkFolders(session: ImapSession): Promise<void> {
    const client = session.client;
    const condstore = client.enabled.has('CONDSTORE');
    const listing = await withTimeout(
      'list',
      this.deps.config.mail.imapTimeoutMs,
      client.list({ statusQuery: { messages: true, uidNext: true, uidValidity: true, highestModseq: condstore } }),
      () => client.close(),
    );
    const stored = await this.asTenant(() => this.deps.folders.listForAccount(this.accountId));
    const changes = changedFolders(stored, listing, condstore);
    if (this.stopped) return;
    if (changes.kind === 'account') this.deps.trigger.request(this.tenantId, this.accountId);
    else for (const path of changes.paths) this.deps.trigger.request(this.tenantId, this.accountId, path);
  }

  private noteEvent(): void {
    if (this.eventRecordPending) return;
    this.eventRecordPending = true;
    setTimeout(() => {
      this.eventRecordPending = false;
      if (!this.stopped) void this.asTenant(() => this.deps.onEvent()).catch(() => undefined);
    }, 1_000).unref();
  }

  private async setState(state: WatchState, lastError: string | null): Promise<void> {
    if (this.stopped) return;
    this.current = state;
    await this.asTenant(() => this.deps.onState(state, lastError)).catch((error: unknown) => {
      this.deps.logger.warn({ err: error, accountId: this.accountId }, 'Could not record the watch state');
    });
  }

  private async asTenant<T>(work: () => Promise<T>): Promise<T> {
    return this.deps.tenantContext.run(this.tenantId, work);
  }
}
