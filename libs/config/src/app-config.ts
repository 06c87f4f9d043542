import type { LogLevelName, NodeEnvironment } from './environment.js';
import type { MailProvider } from './mail-providers.js';
import type { OutboundConfig } from './outbound-rules.js';

export interface HttpConfig {
  host: string;
  port: number;
  /** Forked API processes (Node cluster); 1 runs the API in the calling process. */
  workers: number;
  /** libuv thread-pool size per API process (DNS lookups, crypto, file I/O). */
  threadsPerWorker: number;
  corsOrigins: string[];
  trustProxy: boolean;
}

export interface RedisConfig {
  url: string;
  queueUrl: string;
  /** Prefix for every key the service writes, so several deployments (or test runs) can share one Redis. */
  keyPrefix: string;
}

export interface AuthConfig {
  jwtSecret: string | null;
  jwtPublicKey: string | null;
}

export interface EncryptionConfig {
  /** Encrypts new credentials; null outside production when no key is configured. */
  currentKey: Buffer | null;
  /** Older keys that still decrypt stored credentials until they are re-encrypted. */
  previousKeys: Buffer[];
}

export interface MailConfig {
  imapTimeoutMs: number;
  smtpTimeoutMs: number;
  /** The IMAP and SMTP login test on account create/update (ACCOUNT_VERIFY_TIMEOUT). */
  accountVerifyTimeoutMs: number;
  imapPoolSize: number;
  smtpPoolSize: number;
  /** Bodies plus decoded attachments of one outgoing message (MAX_MESSAGE_SIZE_MB). */
  maxMessageBytes: number;
  /** How long a send waits after it is accepted before it may leave, cancellable meanwhile (UNDO_SEND_SECONDS). */
  undoSendMs: number;
  /** Receiving servers (Authentication-Results authserv-ids, lower case) whose verdicts messages show. */
  trustedAuthservIds: string[];
}

export interface FeatureFlags {
  imapSync: boolean;
  smtpSend: boolean;
  backgroundJobs: boolean;
  emailParsing: boolean;
}

export interface RateLimitConfig {
  enabled: boolean;
  perMinute: number;
  perHour: number;
}

export interface TenancyConfig {
  headerName: string;
  defaultTenantId: string;
}

export interface WorkerConfig {
  syncConcurrency: number;
  sendConcurrency: number;
  /**
   * How long a job stays claimed by a worker that stopped renewing it (BullMQ lockDuration), and
   * the TTL of an account's sync lease: the time before another worker may take over after a crash.
   */
  jobLockMs: number;
  /** How often each worker looks for jobs whose lock expired (BullMQ stalledInterval). */
  stalledCheckMs: number;
  /** 0 disables the worker's health listener. */
  healthPort: number;
  watch: WatchConfig;
}

export interface WatchConfig {
  enabled: boolean;
  /** IDLE connections per worker process; accounts held beyond it are polled. */
  maxConnections: number;
  pollMs: number;
  /** A replica's claim on an account expires this long after its last heartbeat. */
  leaseMs: number;
}

export interface SchedulerConfig {
  syncCron: string;
  /** How often records waiting in PostgreSQL for a job are checked against the queue, so a lost job is re-enqueued. */
  reconcileMs: number;
  /** How long the change log keeps a change; a client whose cursor is older must resync. */
  changesRetentionDays: number;
  /** 0 disables the scheduler's health listener. */
  healthPort: number;
}

/** HTTP Basic login for the queue dashboard; null when the dashboard is off. */
export interface QueueDashboardConfig {
  username: string;
  password: string;
}

export interface WebhookConfig {
  /** Deliveries each worker process attempts at once. */
  concurrency: number;
  timeoutMs: number;
  /** After this long from its first attempt a failing delivery fails for good and disables its endpoint. */
  retryWindowMs: number;
  retryBaseMs: number;
  /** How often undispatched changes are looked for besides the change_log notifications. */
  sweepMs: number;
}

export interface OAuthConfig {
  /** Presets overlaid with OAUTH_PROVIDERS, by id. */
  providers: ReadonlyMap<string, MailProvider>;
  redirectBaseUrl: string | null;
  completionUrl: string | null;
  refreshSkewMs: number;
  tokenTimeoutMs: number;
}

export interface LogConfig {
  level: LogLevelName;
  dir: string | null;
}

/**
 * The validated configuration, built once at boot by `loadConfig` and injected by type.
 * Nothing else in the code base reads the process environment.
 */
export class AppConfig {
  readonly serviceName = 'email_service';

  constructor(
    readonly environment: NodeEnvironment,
    readonly serviceVersion: string,
    readonly http: HttpConfig,
    readonly databaseUrl: string,
    readonly databaseMigrationUrl: string,
    readonly databasePoolSize: number,
    readonly redis: RedisConfig,
    readonly auth: AuthConfig,
    readonly encryption: EncryptionConfig,
    readonly mail: MailConfig,
    readonly features: FeatureFlags,
    readonly rateLimit: RateLimitConfig,
    readonly tenancy: TenancyConfig,
    readonly worker: WorkerConfig,
    readonly scheduler: SchedulerConfig,
    readonly log: LogConfig,
    readonly queueDashboard: QueueDashboardConfig | null,
    /** Which servers tenants' accounts may make the service connect to. */
    readonly outbound: OutboundConfig,
    readonly webhooks: WebhookConfig,
    readonly oauth: OAuthConfig,
  ) {}

  get isProduction(): boolean {
    return this.environment === 'production';
  }
}
