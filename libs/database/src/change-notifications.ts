import { Logger } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';

/** The channel the change log's commit trigger notifies (migration ChangeLog). */
const CHANNEL = 'change_log';
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 15_000;

export interface ChangeNotice {
  tenantId: string;
  accountId: string;
  lastSeq: number;
}

type Listener = (notice: ChangeNotice | null) => void;

/**
 * One LISTEN connection per process on the change log's channel, opened when the first listener
 * subscribes and shared by all of them. Notifications are a wake-up call, never the data: a
 * listener reads the log itself, so one lost while the connection was down only delays it. After
 * a reconnect every listener is called with `null`, meaning "something may have been missed".
 */
export class ChangeNotifications implements OnApplicationShutdown {
  private readonly logger = new Logger(ChangeNotifications.name);
  private readonly listeners = new Map<Listener, string | null>();
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly applicationName: string,
  ) {}

  /**
   * Calls `listener` after each commit that adds to `accountId`'s log (any account's when null).
   * Resolves once the process is listening, or once it failed to (it keeps trying): either way a
   * caller that reads the log after this misses nothing committed before the call.
   */
  async subscribe(accountId: string | null, listener: Listener): Promise<() => void> {
    this.listeners.set(listener, accountId);
    await this.listen().catch(() => undefined);
    return () => {
      this.listeners.delete(listener);
    };
  }

  onApplicationShutdown(): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.listeners.clear();
    void this.client?.end().catch(() => undefined);
    this.client = null;
  }

  private listen(): Promise<void> {
    if (this.client) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: `${this.applicationName}-listen`,
    });
    client.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload) this.dispatch(message.payload);
    });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error: unknown) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      this.scheduleReconnect();
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    if (this.failures > 0) {
      this.failures = 0;
      for (const listener of this.listeners.keys()) listener(null);
    }
  }

  private dispatch(payload: string): void {
    const [tenantId, accountId, lastSeq] = payload.split(' ');
    if (!tenantId || !accountId || !lastSeq) return;
    const notice = { tenantId, accountId, lastSeq: Number(lastSeq) };
    for (const [listener, account] of this.listeners) if (account === null || account === accountId) listener(notice);
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    client.removeAllListeners('end');
    void client.end().catch(() => undefined);
    this.logger.warn('Lost the change log LISTEN connection; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer || this.listeners.size === 0) return;
    this.failures += 1;
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** (this.failures - 1)) * (0.5 + Math.random() / 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.listen().catch(() => undefined);
    }, delay);
    this.reconnectTimer.unref();
  }
}
