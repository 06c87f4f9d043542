import { createHash } from 'node:crypto';

import { AppConfig } from '@app/config';
import { Injectable, Logger } from '@nestjs/common';
import type { OnModuleDestroy } from '@nestjs/common';
import { createTransport } from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';

import { OutboundPolicy } from '../egress/outbound-policy.js';
import type { OutboundTarget } from '../egress/outbound-policy.js';
import type { MailServerSettings } from '../mail-server-settings.js';
import type { SmtpEnvelope } from '../mime/build/outgoing-mime.js';
import { smtpTransportOptions } from './smtp-transport-options.js';

export interface SmtpAcceptance {
  /** The server's final reply to DATA, e.g. `250 2.0.0 Ok: queued as 4Xz`. */
  response: string;
  accepted: string[];
  rejected: string[];
}

interface PooledTransport {
  transport: Mail<SMTPPool.SentMessageInfo, SMTPPool.Options>;
  fingerprint: string;
  inFlight: number;
  lastUsed: number;
}

/** The caller's deadline for starting the transaction passed while it waited for a free session; nothing was sent. */
export class SmtpStartDeadlineError extends Error {
  constructor() {
    super('no SMTP session came free before the attempt had to start');
  }
}

/** Idle SMTP sessions are closed after this, so accounts that stopped sending give their slots back. */
const IDLE_TIMEOUT_MS = 30_000;

/** A counting semaphore: at most `size` holders at a time, the rest wait in arrival order. */
class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  async acquire(): Promise<void> {
    if (this.used < this.size) {
      this.used += 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.used -= 1;
  }
}

/**
 * Pooled SMTP transports, one per account, reused across jobs. SMTP_POOL_SIZE caps the sessions a
 * worker uses at once (all accounts together) and the number of accounts holding a pool; the
 * least recently used idle pool is closed to make room. A changed password or server gives the
 * account a new pool. Every send asks the outbound policy first (a refused server is never
 * contacted) and a server whose name now resolves elsewhere gets a new pool for the new address.
 * Everything is closed on shutdown.
 */
@Injectable()
export class SmtpTransportPool implements OnModuleDestroy {
  private readonly logger = new Logger(SmtpTransportPool.name);
  private readonly pools = new Map<string, PooledTransport>();
  private readonly slots: Slots;

  constructor(
    private readonly config: AppConfig,
    private readonly policy: OutboundPolicy,
  ) {
    this.slots = new Slots(config.mail.smtpPoolSize);
  }

  get openPools(): number {
    return this.pools.size;
  }

  /**
   * Hands a ready-built message to the account's server; rejects with nodemailer's error (with the
   * SMTP reply when there was one). `messageId` is the one in `raw`: given, nodemailer does not
   * draw a random one of its own for a message it never writes into. Past `startBy` (Date.now()
   * clock) the transaction is no longer opened: SmtpStartDeadlineError.
   */
  async send(
    key: string,
    settings: MailServerSettings,
    envelope: SmtpEnvelope,
    raw: Buffer,
    messageId: string,
    startBy = Infinity,
  ): Promise<SmtpAcceptance> {
    const target = await this.policy.resolve(settings.host, settings.port);
    await this.slots.acquire();
    if (Date.now() > startBy) {
      this.slots.release();
      throw new SmtpStartDeadlineError();
    }
    const pooled = this.transportFor(key, settings, target);
    pooled.inFlight += 1;
    try {
      const info = await pooled.transport.sendMail({
        envelope: { from: envelope.from, to: envelope.to },
        raw,
        messageId,
      });
      return { response: info.response, accepted: info.accepted.map(String), rejected: info.rejected.map(String) };
    } finally {
      pooled.inFlight -= 1;
      pooled.lastUsed = Date.now();
      this.slots.release();
    }
  }

  onModuleDestroy(): void {
    for (const pooled of this.pools.values()) pooled.transport.close();
    this.pools.clear();
  }

  private transportFor(key: string, settings: MailServerSettings, target: OutboundTarget): PooledTransport {
    const fingerprint = fingerprintOf(settings, target);
    const existing = this.pools.get(key);
    if (existing && existing.fingerprint === fingerprint) {
      // Map order doubles as recency order for eviction.
      this.pools.delete(key);
      this.pools.set(key, existing);
      return existing;
    }
    if (existing && existing.inFlight === 0) existing.transport.close();
    this.pools.delete(key);
    this.evictIdle();

    const transport = createTransport({
      ...smtpTransportOptions(settings, target, this.config.mail.smtpTimeoutMs),
      pool: true,
      maxConnections: this.config.mail.smtpPoolSize,
      idleTimeout: IDLE_TIMEOUT_MS,
      // A connection that drops mid-DATA may already have delivered the message; resending it
      // here would bypass the send record, so the failure goes back to the caller instead.
      maxRequeues: 0,
    });
    transport.on('error', (error: Error) => this.logger.warn({ err: error }, 'SMTP pool error'));
    const pooled: PooledTransport = { transport, fingerprint, inFlight: 0, lastUsed: Date.now() };
    this.pools.set(key, pooled);
    return pooled;
  }

  private evictIdle(): void {
    for (const [key, pooled] of this.pools) {
      if (this.pools.size < this.config.mail.smtpPoolSize) return;
      if (pooled.inFlight > 0) continue;
      pooled.transport.close();
      this.pools.delete(key);
    }
  }
}

function fingerprintOf(settings: MailServerSettings, target: OutboundTarget): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        settings.host,
        target.address,
        settings.port,
        settings.security,
        settings.username,
        settings.password ?? null,
        settings.accessToken ?? null,
        settings.allowSelfSignedCertificates,
      ]),
    )
    .digest('hex');
}
