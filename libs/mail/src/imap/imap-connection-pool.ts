import { createHash } from 'node:crypto';

import type { OnApplicationShutdown } from '@nestjs/common';
import type { ImapFlow } from 'imapflow';

import type { OutboundPolicy } from '../egress/outbound-policy.js';
import { ImapPoolExhaustedError } from '../errors.js';
import type { MailServerSettings } from '../mail-server-settings.js';
import { openImapSession, withTimeout } from './imap-session.js';
import type { ImapSession } from './imap-session.js';

export interface ImapPoolOptions {
  /** Connections this process keeps open at once, busy or idle (IMAP_POOL_SIZE). */
  size: number;
  /** Deadline for connect + login, for a health check, and for waiting on a free connection. */
  timeoutMs: number;
  /** An idle connection is logged out after this long. */
  idleTimeoutMs: number;
  /** An idle connection unused for longer than this is checked with NOOP before it is handed out. */
  checkAfterMs: number;
  /** Every new connection goes to an address this admits. */
  policy: OutboundPolicy;
}

export class ImapPoolClosedError extends Error {
  constructor() {
    super('the IMAP connection pool is shut down');
  }
}

/** A logged-in connection lent to one caller until `release()`. */
export interface ImapLease {
  readonly client: ImapFlow;
  /** The last command the server refused on this connection (imapflow reports refusals as `false`). */
  lastCommandError(): Error | null;
  /** Returns the connection; a broken one, or one with work still in flight, is logged out instead. Idempotent. */
  release(): void;
}

export interface ImapPoolStats {
  open: number;
  idle: number;
  waiting: number;
}

interface PooledConnection {
  key: string;
  session: ImapSession;
  state: 'leased' | 'idle' | 'closed';
  idleSince: number;
  idleTimer: NodeJS.Timeout | null;
}

interface Waiter {
  wake: () => void;
  fail: (error: Error) => void;
}

/** How long a released connection may take to finish what it was doing (a chunk FETCH after its stream was abandoned). */
const SETTLE_LIMIT_MS = 5_000;
const SETTLE_POLL_MS = 20;

/**
 * imapflow's own test for "a caller is mid-sequence": a held or queued mailbox lock, a command in
 * flight or queued, or an open download. It is internal to imapflow, hence the structural read.
 */
function hasUnfinishedWork(client: ImapFlow): boolean {
  const probe = (client as unknown as { connectionBusy?: () => boolean }).connectionBusy;
  return typeof probe === 'function' ? probe.call(client) : false;
}

/** Identity of a login: a changed password or server never reuses a connection made with the old one. */
function loginKey(settings: MailServerSettings): string {
  const identity = [
    settings.host,
    settings.port,
    settings.security,
    settings.username,
    settings.password ?? null,
    settings.accessToken ?? null,
    settings.allowSelfSignedCertificates,
  ];
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

/**
 * Logged-in IMAP connections shared by everything in one process, capped at `size` in total.
 * Idle connections are kept per login and reused after a health check; a caller beyond the cap
 * waits (first come, first served) until a connection is released, an idle one of another login
 * can be closed to make room, or the wait times out. Nothing is handed out while a previous
 * user's command, lock or download is still running on it.
 */
export class ImapConnectionPool implements OnApplicationShutdown {
  private readonly idle = new Map<string, PooledConnection[]>();
  private readonly waiters: Waiter[] = [];
  private open = 0;
  private closed = false;

  constructor(private readonly options: ImapPoolOptions) {}

  get stats(): ImapPoolStats {
    let idle = 0;
    for (const list of this.idle.values()) idle += list.length;
    return { open: this.open, idle, waiting: this.waiters.length };
  }

  /**
   * Runs `work` on a connection logged in with `settings`. When `work` outlives `timeoutMs` the
   * connection is closed (imapflow can otherwise wait forever on a dead socket) and the call
   * rejects with ImapTimeoutError.
   */
  async withConnection<T>(
    settings: MailServerSettings,
    work: (client: ImapFlow, lease: ImapLease) => Promise<T>,
    timeoutMs = this.options.timeoutMs,
  ): Promise<T> {
    const lease = await this.acquire(settings);
    try {
      return await withTimeout('command', timeoutMs, work(lease.client, lease), () => lease.client.close());
    } finally {
      lease.release();
    }
  }

  /** A connection for work that outlives one call, such as a stream; the caller must `release()` it. */
  async acquire(settings: MailServerSettings): Promise<ImapLease> {
    const key = loginKey(settings);
    const startedAt = Date.now();
    const deadline = startedAt + this.options.timeoutMs;
    // Newcomers queue behind earlier waiters instead of taking the connection just freed for them.
    let waited = false;
    if (this.waiters.length > 0) {
      await this.waitForRoom(startedAt, deadline, false);
      waited = true;
    }
    for (;;) {
      if (this.closed) throw new ImapPoolClosedError();
      const pooled = this.takeIdle(key);
      if (pooled) {
        if (await this.isHealthy(pooled)) return this.lend(pooled);
        void this.discard(pooled);
        continue;
      }
      if (this.open < this.options.size) return this.connect(key, settings);
      if (this.closeOldestIdle()) continue;
      // Someone who already waited and lost the freed slot to a race keeps their place in line.
      await this.waitForRoom(startedAt, deadline, waited);
      waited = true;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  /** Logs out idle connections and refuses new work; leased connections are logged out as they come back. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.fail(new ImapPoolClosedError());
    const idle = [...this.idle.values()].flat();
    await Promise.all(idle.map((pooled) => this.discard(pooled)));
  }

  private async connect(key: string, settings: MailServerSettings): Promise<ImapLease> {
    this.open += 1;
    let session: ImapSession;
    try {
      session = await openImapSession(this.options.policy, settings, this.options.timeoutMs, { qresync: false });
    } catch (error: unknown) {
      this.open -= 1;
      this.wakeNext();
      throw error;
    }
    const pooled: PooledConnection = { key, session, state: 'leased', idleSince: Date.now(), idleTimer: null };
    // A server that hangs up on an idle connection (autologout, restart) frees its slot at once.
    session.client.on('close', () => {
      if (pooled.state === 'idle') void this.discard(pooled);
    });
    if (this.closed) {
      await this.discard(pooled);
      throw new ImapPoolClosedError();
    }
    return this.lend(pooled);
  }

  private lend(pooled: PooledConnection): ImapLease {
    pooled.state = 'leased';
    let released = false;
    // A refusal logged for an earlier user of this connection is not this caller's.
    const earlierRefusal = pooled.session.lastCommandError();
    return {
      client: pooled.session.client,
      lastCommandError: () => {
        const refusal = pooled.session.lastCommandError();
        return refusal === earlierRefusal ? null : refusal;
      },
      release: () => {
        if (released) return;
        released = true;
        void this.giveBack(pooled);
      },
    };
  }

  private async giveBack(pooled: PooledConnection): Promise<void> {
    const client = pooled.session.client;
    // Well inside the waiters' deadline, so a connection that will never settle is replaced in time.
    const settleBy = Date.now() + Math.min(this.options.timeoutMs / 4, SETTLE_LIMIT_MS);
    while (client.usable && hasUnfinishedWork(client) && Date.now() < settleBy) {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
    }
    if (this.closed || !this.isReusable(pooled)) {
      await this.discard(pooled);
      return;
    }
    pooled.state = 'idle';
    pooled.idleSince = Date.now();
    pooled.idleTimer = setTimeout(() => void this.discard(pooled), this.options.idleTimeoutMs);
    pooled.idleTimer.unref();
    const list = this.idle.get(pooled.key) ?? [];
    list.push(pooled);
    this.idle.set(pooled.key, list);
    this.wakeNext();
  }

  private isReusable(pooled: PooledConnection): boolean {
    const client = pooled.session.client;
    return client.usable && pooled.session.lastError() === null && !hasUnfinishedWork(client);
  }

  /** The most recently used idle connection of this login: the likeliest to be alive. */
  private takeIdle(key: string): PooledConnection | undefined {
    const list = this.idle.get(key);
    const pooled = list?.pop();
    if (list && list.length === 0) this.idle.delete(key);
    if (pooled) {
      if (pooled.idleTimer) clearTimeout(pooled.idleTimer);
      pooled.idleTimer = null;
      pooled.state = 'leased';
    }
    return pooled;
  }

  private async isHealthy(pooled: PooledConnection): Promise<boolean> {
    if (!this.isReusable(pooled)) return false;
    if (Date.now() - pooled.idleSince < this.options.checkAfterMs) return true;
    const client = pooled.session.client;
    try {
      await withTimeout('noop', Math.min(this.options.timeoutMs, SETTLE_LIMIT_MS), client.noop(), () => client.close());
    } catch {
      return false;
    }
    return this.isReusable(pooled);
  }

  private closeOldestIdle(): boolean {
    let oldest: PooledConnection | undefined;
    for (const list of this.idle.values()) {
      const candidate = list[0];
      if (candidate && (!oldest || candidate.idleSince < oldest.idleSince)) oldest = candidate;
    }
    if (!oldest) return false;
    void this.discard(oldest);
    return true;
  }

  private async discard(pooled: PooledConnection): Promise<void> {
    if (pooled.state === 'closed') return;
    const list = this.idle.get(pooled.key);
    if (list) {
      const index = list.indexOf(pooled);
      if (index >= 0) list.splice(index, 1);
      if (list.length === 0) this.idle.delete(pooled.key);
    }
    if (pooled.idleTimer) clearTimeout(pooled.idleTimer);
    pooled.idleTimer = null;
    pooled.state = 'closed';
    this.open -= 1;
    this.wakeNext();
    await pooled.session.close().catch(() => undefined);
  }

  private async waitForRoom(startedAt: number, deadline: number, atFront: boolean): Promise<void> {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new ImapPoolExhaustedError(this.options.size, Date.now() - startedAt);
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        wake: () => {
          clearTimeout(timer);
          resolve();
        },
        fail: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(new ImapPoolExhaustedError(this.options.size, Date.now() - startedAt));
      }, remaining);
      if (atFront) this.waiters.unshift(waiter);
      else this.waiters.push(waiter);
    });
  }

  private wakeNext(): void {
    this.waiters.shift()?.wake();
  }
}
