import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';

import { AppConfig } from '@app/config';
import { FolderRepository, TenantRepository, WatchLeaseRepository } from '@app/database';
import type { HeldWatchLease, WatchState } from '@app/database';
import { AccountMailSettings, OutboundPolicy } from '@app/mail';
import { WatchMetrics } from '@app/observability';
import { TenantContext } from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';

import { AccountWatcher } from './account-watcher.js';
import type { WatchMode } from './account-watcher.js';
import { PushSyncTrigger } from './push-sync-trigger.js';

/** Accounts one replica claims per tenant and tick, so replicas starting together share the accounts out. */
const CLAIM_BATCH = 25;
/** The rescan: new, deactivated and deleted accounts are picked up or dropped within this. */
const MAX_TICK_MS = 5_000;

/**
 * Spreads the watch of every active account over the worker replicas, one replica per account,
 * by leases in PostgreSQL (account_watch_leases). Each tick, tenant by tenant, it renews the
 * leases it holds (dropping accounts deactivated or deleted meanwhile, and leases it failed to
 * renew in time), then claims accounts nobody holds: while below WATCH_MAX_CONNECTIONS as IDLE
 * watches; past it, only accounts left unclaimed for a whole lease period (no replica with room
 * took them), and those are polled. A replica that dies stops renewing, and its accounts are
 * claimed by the others once their leases expire. On shutdown the connections close and the
 * leases are released, for the other replicas to take at their next tick.
 */
@Injectable()
export class WatchSupervisor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WatchSupervisor.name);
  /** This process, in the leases it holds. */
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly watchers = new Map<string, { watcher: AccountWatcher; renewedAt: number }>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private shuttingDown = false;

  constructor(
    private readonly config: AppConfig,
    private readonly tenants: TenantRepository,
    private readonly leases: WatchLeaseRepository,
    private readonly folders: FolderRepository,
    private readonly tenantContext: TenantContext,
    private readonly mailSettings: AccountMailSettings,
    private readonly outboundPolicy: OutboundPolicy,
    private readonly trigger: PushSyncTrigger,
    private readonly metrics: WatchMetrics,
  ) {}

  private get enabled(): boolean {
    const { watch } = this.config.worker;
    // Pushes are sync jobs: without sync or background jobs there is nothing to push to.
    return watch.enabled && this.config.features.imapSync && this.config.features.backgroundJobs;
  }

  private get tickMs(): number {
    return Math.min(MAX_TICK_MS, this.config.worker.watch.leaseMs / 3);
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    this.metrics.countWith(() => {
      const counts = new Map<WatchState, number>();
      for (const { watcher } of this.watchers.values()) counts.set(watcher.state, (counts.get(watcher.state) ?? 0) + 1);
      return counts;
    });
    this.schedule(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    const held = [...this.watchers.values()].map(({ watcher }) => watcher);
    await Promise.all(held.map((watcher) => watcher.stop()));
    const byTenant = new Map<string, string[]>();
    for (const watcher of held)
      byTenant.set(watcher.tenantId, [...(byTenant.get(watcher.tenantId) ?? []), watcher.accountId]);
    for (const [tenantId, accountIds] of byTenant) {
      await this.tenantContext
        .run(tenantId, () => this.leases.release(this.owner, accountIds))
        .catch((error: unknown) => this.logger.warn({ err: error, tenantId }, 'Could not release watch leases'));
    }
    this.watchers.clear();
  }

  private schedule(delayMs: number): void {
    if (this.shuttingDown) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'Watch rescan failed'))
        .finally(() => this.schedule(this.tickMs));
    }, delayMs);
  }

  private async tick(): Promise<void> {
    const tenantIds = await this.tenants.listIds();
    for (const tenantId of tenantIds) {
      if (this.shuttingDown) return;
      try {
        await this.tenantContext.run(tenantId, () => this.tickTenant(tenantId));
      } catch (error: unknown) {
        this.logger.warn({ err: error, tenantId }, 'Watch rescan of a tenant failed');
      }
    }
    await this.dropExpired();
  }

  private async tickTenant(tenantId: string): Promise<void> {
    const { leaseMs, maxConnections } = this.config.worker.watch;
    const renewed = await this.leases.renew(this.owner, leaseMs);
    const renewedIds = new Set(renewed.map((lease) => lease.accountId));
    const now = Date.now();
    for (const [accountId, held] of this.watchers) {
      if (held.watcher.tenantId !== tenantId) continue;
      if (renewedIds.has(accountId)) held.renewedAt = now;
      else await this.drop(accountId, 'release');
    }
    for (const lease of renewed) this.restartIfChanged(lease);

    const idleSlots = maxConnections - this.countIdleWatches();
    const claimed =
      idleSlots > 0
        ? await this.leases.claim(this.owner, leaseMs, Math.min(idleSlots, CLAIM_BATCH))
        : await this.leases.claim(this.owner, leaseMs, CLAIM_BATCH, leaseMs);
    let slots = idleSlots;
    for (const lease of claimed) {
      this.begin(tenantId, lease.accountId, slots > 0 ? 'idle' : 'poll');
      slots -= 1;
    }
  }

  /** A watch ended by a refused login starts again once the account row changed after it (a new password, say). */
  private restartIfChanged(lease: HeldWatchLease): void {
    const held = this.watchers.get(lease.accountId);
    if (!held?.watcher.ended || lease.state !== 'off') return;
    if (lease.accountUpdatedAt.getTime() <= lease.since.getTime()) return;
    const { tenantId, mode } = held.watcher;
    this.watchers.delete(lease.accountId);
    this.begin(tenantId, lease.accountId, mode);
  }

  private begin(tenantId: string, accountId: string, mode: WatchMode): void {
    const watcher = new AccountWatcher(tenantId, accountId, mode, {
      config: this.config,
      tenantContext: this.tenantContext,
      mailSettings: this.mailSettings,
      outboundPolicy: this.outboundPolicy,
      folders: this.folders,
      trigger: this.trigger,
      logger: this.logger,
      onState: (state, lastError) => this.leases.setState(this.owner, accountId, state, lastError),
      onEvent: () => this.leases.recordEvent(this.owner, accountId),
    });
    this.watchers.set(accountId, { watcher, renewedAt: Date.now() });
    watcher.start();
  }

  /**
   * `release`: the lease was not renewed because the account is inactive or gone (or the lease
   * expired and another replica holds it, in which case the owner check makes both writes no-ops).
   * `abandon`: PostgreSQL could not be reached to renew it; another replica may hold it by now.
   */
  private async drop(accountId: string, how: 'release' | 'abandon'): Promise<void> {
    const held = this.watchers.get(accountId);
    if (!held) return;
    this.watchers.delete(accountId);
    await held.watcher.stop();
    if (how === 'abandon') return;
    await this.leases.setState(this.owner, accountId, 'off', null);
    await this.leases.release(this.owner, [accountId]);
  }

  private async dropExpired(): Promise<void> {
    const deadline = Date.now() - this.config.worker.watch.leaseMs;
    for (const [accountId, held] of this.watchers)
      if (held.renewedAt < deadline) {
        this.logger.warn(
          { accountId },
          'Watch lease could not be renewed in time; leaving the account to other replicas',
        );
        await this.drop(accountId, 'abandon');
      }
  }

  private countIdleWatches(): number {
    let count = 0;
    for (const { watcher } of this.watchers.values()) if (watcher.mode === 'idle') count += 1;
    return count;
  }
}
