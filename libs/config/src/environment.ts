import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';

import { IsCronExpression } from './validators/is-cron-expression.js';
import { IsEncryptionKeyList } from './validators/is-encryption-key-list.js';
import { IsOutboundList } from './validators/is-outbound-list.js';
import { OUTBOUND_POLICIES } from './outbound-rules.js';
import type { OutboundPolicyMode } from './outbound-rules.js';

export const NODE_ENVIRONMENTS = ['development', 'production', 'test'] as const;
export type NodeEnvironment = (typeof NODE_ENVIRONMENTS)[number];

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/** Environment strings become booleans only when they are unambiguous; anything else fails validation. */
function toBoolean({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string') return value;
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return value;
}

function toNumber({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string' || value.trim() === '') return value;
  const parsed = Number(value);
  return Number.isNaN(parsed) ? value : parsed;
}

function toUpperCase({ value }: { value: unknown }): unknown {
  return typeof value === 'string' ? value.trim().toUpperCase() : value;
}

const isProduction = (env: EnvironmentVariables): boolean => env.NODE_ENV === 'production';

const REDIS_URL_OPTIONS = { protocols: ['redis', 'rediss'], require_tld: false, require_protocol: true };
const POSTGRES_URL_OPTIONS = { protocols: ['postgres', 'postgresql'], require_tld: false, require_protocol: true };

/**
 * Every variable the three apps understand, after legacy names have been folded into the
 * current ones (see `LEGACY_ALIASES`). Defaults live here so `.env.example` and the code agree.
 */
export class EnvironmentVariables {
  @IsIn(NODE_ENVIRONMENTS)
  NODE_ENV: NodeEnvironment = 'development';

  @IsString()
  @IsNotEmpty()
  SERVICE_VERSION = '0.1.0';

  @IsString()
  @IsNotEmpty()
  HOST = '0.0.0.0';

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 5000;

  /** Unset: one process per CPU core, at most `MAX_DEFAULT_API_WORKERS` (see `defaultApiWorkers`). */
  @IsOptional()
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(64)
  API_WORKERS?: number;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(128)
  API_THREADS = 2;

  @IsUrl(POSTGRES_URL_OPTIONS)
  DATABASE_URL = 'postgresql://email_service_app:email_service_app@localhost:5432/mail_service';

  /** Owner connection used only by the migration step; the apps use DATABASE_URL (a role without bypass of row-level security). */
  @IsOptional()
  @IsUrl(POSTGRES_URL_OPTIONS)
  DATABASE_MIGRATION_URL?: string;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 10;

  @IsUrl(REDIS_URL_OPTIONS)
  REDIS_URL = 'redis://localhost:6379/0';

  @IsOptional()
  @IsUrl(REDIS_URL_OPTIONS)
  QUEUE_REDIS_URL?: string;

  @Matches(/^[A-Za-z0-9_.:-]+$/, { message: 'REDIS_KEY_PREFIX may only contain letters, digits and _ . : -' })
  REDIS_KEY_PREFIX = 'mail';

  @ValidateIf((env: EnvironmentVariables) => isProduction(env) && !env.JWT_PUBLIC_KEY)
  @IsString({ message: 'JWT_SECRET is required when NODE_ENV=production (or set JWT_PUBLIC_KEY)' })
  @IsNotEmpty({ message: 'JWT_SECRET is required when NODE_ENV=production (or set JWT_PUBLIC_KEY)' })
  JWT_SECRET?: string;

  @IsOptional()
  @Matches(/-----BEGIN (RSA )?PUBLIC KEY-----/, { message: 'JWT_PUBLIC_KEY must be a PEM public key' })
  JWT_PUBLIC_KEY?: string;

  @ValidateIf((env: EnvironmentVariables) => isProduction(env) || env.ENCRYPTION_KEY !== undefined)
  @IsEncryptionKeyList({
    single: true,
    message: 'ENCRYPTION_KEY is required when NODE_ENV=production and must be 32 bytes, base64 or hex encoded',
  })
  ENCRYPTION_KEY?: string;

  @IsOptional()
  @IsEncryptionKeyList({
    single: false,
    message: 'ENCRYPTION_KEYS must be a comma-separated list of 32-byte keys, base64 or hex encoded',
  })
  ENCRYPTION_KEYS?: string;

  @IsString()
  CORS_ORIGINS = 'localhost:3000';

  @Matches(/^[A-Za-z0-9.,\s-]*$/, {
    message: 'TRUSTED_AUTHSERV_IDS must be a comma-separated list of host names (Authentication-Results authserv-ids)',
  })
  TRUSTED_AUTHSERV_IDS = '';

  @Transform(toBoolean)
  @IsBoolean()
  TRUST_PROXY = false;

  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  @Max(600)
  IMAP_TIMEOUT = 30;

  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  @Max(600)
  SMTP_TIMEOUT = 30;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(1000)
  IMAP_POOL_SIZE = 10;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(1000)
  SMTP_POOL_SIZE = 5;

  /**
   * Bodies plus decoded attachments of one outgoing message, in MiB. Base64 makes the message on
   * the wire about 37 % larger, so 18 stays under the 25 MB that common providers accept.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(1024)
  MAX_MESSAGE_SIZE_MB = 18;

  /** How long every send is held after it is accepted, so the client can still cancel it ("undo send"); 0 sends at once. */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(300)
  UNDO_SEND_SECONDS = 0;

  /** The login test on account create/update: shorter than IMAP_TIMEOUT, as an API request waits for it. */
  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  @Max(120)
  ACCOUNT_VERIFY_TIMEOUT = 10;

  /** Unset: `public` in production, `any` elsewhere (see `loadConfig`). */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value))
  @IsIn(OUTBOUND_POLICIES, { message: 'OUTBOUND_POLICY must be one of public, allowlist, any' })
  OUTBOUND_POLICY?: OutboundPolicyMode;

  @ValidateIf(
    (env: EnvironmentVariables) => env.OUTBOUND_POLICY === 'allowlist' || env.OUTBOUND_ALLOWED_HOSTS !== undefined,
  )
  @IsOutboundList('hosts', {
    message:
      'OUTBOUND_ALLOWED_HOSTS (required with OUTBOUND_POLICY=allowlist) must be a comma-separated list of host names, IPs or CIDRs, each optionally with :port or :from-to ([ipv6]:port)',
  })
  OUTBOUND_ALLOWED_HOSTS?: string;

  @IsOutboundList('ports', { message: 'OUTBOUND_ALLOWED_PORTS must be a comma-separated list of ports (1-65535)' })
  OUTBOUND_ALLOWED_PORTS = '25,143,465,587,993,2525,80,443';

  @Transform(toUpperCase)
  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevelName = 'INFO';

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  LOG_DIR?: string;

  @Transform(toBoolean)
  @IsBoolean()
  ENABLE_IMAP_SYNC = true;

  @Transform(toBoolean)
  @IsBoolean()
  ENABLE_SMTP_SEND = true;

  @Transform(toBoolean)
  @IsBoolean()
  ENABLE_BACKGROUND_JOBS = true;

  @Transform(toBoolean)
  @IsBoolean()
  ENABLE_EMAIL_PARSING = true;

  @Transform(toBoolean)
  @IsBoolean()
  RATE_LIMIT_ENABLED = true;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  RATE_LIMIT_REQUESTS_PER_MINUTE = 60;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  RATE_LIMIT_REQUESTS_PER_HOUR = 1000;

  @Matches(/^[A-Za-z0-9-]+$/, { message: 'TENANT_ID_HEADER must be a valid HTTP header name' })
  TENANT_ID_HEADER = 'X-Tenant-ID';

  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'DEFAULT_TENANT_ID must be 1-64 letters, digits, _ . -' })
  DEFAULT_TENANT_ID = 'default';

  @IsCronExpression()
  SYNC_CRON = '0 * * * *';

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(3600)
  RECONCILE_SECONDS = 60;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(3650)
  CHANGES_RETENTION_DAYS = 30;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(100)
  SYNC_CONCURRENCY = 2;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(200)
  SEND_CONCURRENCY = 5;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(200)
  WEBHOOK_CONCURRENCY = 10;

  /** One delivery attempt, connect to the end of the response. */
  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  @Max(60)
  WEBHOOK_TIMEOUT = 10;

  /** How long a delivery is retried after its first attempt before the endpoint is disabled; fractions for tests. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.0001)
  @Max(720)
  WEBHOOK_RETRY_HOURS = 24;

  /** The first retry's delay; each further one doubles it, up to an hour. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.01)
  @Max(3600)
  WEBHOOK_RETRY_BASE_SECONDS = 30;

  /** How often each worker looks for changes a lost change_log notification left undispatched. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0.1)
  @Max(3600)
  WEBHOOK_SWEEP_SECONDS = 5;

  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  @Max(600)
  JOB_LOCK_DURATION = 30;

  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  @Max(600)
  JOB_STALLED_INTERVAL = 30;

  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(65535)
  WORKER_HEALTH_PORT = 5001;

  /** IMAP IDLE watchers in the worker (push syncs of new mail); off, new mail waits for SYNC_CRON. */
  @Transform(toBoolean)
  @IsBoolean()
  WATCH_ENABLED = true;

  /** IDLE connections one worker process keeps open; the accounts it watches beyond that are polled. */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(100_000)
  WATCH_MAX_CONNECTIONS = 500;

  /** How often folders other than INBOX (and INBOX of polled accounts) are checked for changes. */
  @Transform(toNumber)
  @IsInt()
  @Min(5)
  @Max(86_400)
  WATCH_POLL_SECONDS = 120;

  /** How long a watcher replica's claim on an account lasts without a heartbeat: the takeover time after a crash. */
  @Transform(toNumber)
  @IsInt()
  @Min(3)
  @Max(3600)
  WATCH_LEASE_SECONDS = 30;

  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(65535)
  SCHEDULER_HEALTH_PORT = 5002;

  /**
   * Mail providers beyond (or changing) the presets: a JSON list inline or the path of a JSON file
   * (see the README). OAuth2 providers need at least their clientId here.
   */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  OAUTH_PROVIDERS?: string;

  /** The public base URL of this API; OAuth2 callbacks are `<it>/api/oauth/<provider>/callback`. */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  OAUTH_REDIRECT_BASE_URL?: string;

  /** Where the browser goes after an OAuth2 callback, with `status`, `accountId` or `error` appended. */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  OAUTH_COMPLETION_URL?: string;

  /** An access token this close to its expiry is refreshed before it is used. */
  @Transform(toNumber)
  @IsNumber()
  @Min(0)
  @Max(3600)
  OAUTH_REFRESH_SKEW_SECONDS = 300;

  /** The token endpoint's whole answer, connect to last byte. */
  @Transform(toNumber)
  @IsNumber()
  @Min(1)
  @Max(120)
  OAUTH_TOKEN_TIMEOUT = 15;

  /** Operator login of the queue dashboard (/admin/queues); with the password unset the dashboard is off. */
  @ValidateIf(
    (env: EnvironmentVariables) =>
      env.QUEUE_DASHBOARD_USERNAME !== undefined || env.QUEUE_DASHBOARD_PASSWORD !== undefined,
  )
  @Matches(/^[^:\s]{1,64}$/, {
    message:
      'QUEUE_DASHBOARD_USERNAME must be set together with QUEUE_DASHBOARD_PASSWORD: 1-64 characters without spaces or colons',
  })
  QUEUE_DASHBOARD_USERNAME?: string;

  // HTTP Basic sends the password with every request and the dashboard is not rate limited, so
  // only a password too long to guess online is accepted.
  @ValidateIf(
    (env: EnvironmentVariables) =>
      env.QUEUE_DASHBOARD_USERNAME !== undefined || env.QUEUE_DASHBOARD_PASSWORD !== undefined,
  )
  @IsString({
    message: 'QUEUE_DASHBOARD_PASSWORD must be set together with QUEUE_DASHBOARD_USERNAME, at least 16 characters',
  })
  @MinLength(16, {
    message: 'QUEUE_DASHBOARD_PASSWORD must be set together with QUEUE_DASHBOARD_USERNAME, at least 16 characters',
  })
  QUEUE_DASHBOARD_PASSWORD?: string;
}

/**
 * Names the service answered to before it was rewritten; each maps to the current name.
 * The current name wins when both are set.
 */
export const LEGACY_ALIASES: Readonly<Record<string, keyof EnvironmentVariables>> = {
  FLASK_HOST: 'HOST',
  FLASK_PORT: 'PORT',
  GUNICORN_WORKERS: 'API_WORKERS',
  GUNICORN_THREADS: 'API_THREADS',
  CELERY_BROKER_URL: 'QUEUE_REDIS_URL',
  ENABLE_CELERY_TASKS: 'ENABLE_BACKGROUND_JOBS',
};

/** Values never echoed back in error messages. */
export const SECRET_VARIABLES: ReadonlySet<string> = new Set([
  'JWT_SECRET',
  'JWT_PUBLIC_KEY',
  'ENCRYPTION_KEY',
  'ENCRYPTION_KEYS',
  'DATABASE_URL',
  'DATABASE_MIGRATION_URL',
  'REDIS_URL',
  'QUEUE_REDIS_URL',
  'QUEUE_DASHBOARD_PASSWORD',
  'OAUTH_PROVIDERS',
]);
