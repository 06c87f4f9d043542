import { availableParallelism } from 'node:os';

import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { ValidationError } from 'class-validator';

import { AppConfig } from './app-config.js';
import { decodeEncryptionKey } from './encryption-key.js';
import { EnvironmentVariables, LEGACY_ALIASES, SECRET_VARIABLES } from './environment.js';
import { parseMailProviders, ProviderConfigError } from './mail-providers.js';
import type { MailProvider } from './mail-providers.js';
import { parseAllowedHosts, parsePortList } from './outbound-rules.js';

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigValidationError';
  }
}

/** SPEC's default process count; also the most a default picks, however many cores there are. */
const MAX_DEFAULT_API_WORKERS = 4;

/**
 * API processes when API_WORKERS is unset: one per core, at most four. More processes than cores
 * only add context switches (each one is busy on its own event loop).
 */
export function defaultApiWorkers(cores: number = availableParallelism()): number {
  return Math.max(1, Math.min(MAX_DEFAULT_API_WORKERS, cores));
}

type RawEnvironment = Readonly<Record<string, string | undefined>>;

function foldLegacyNames(env: RawEnvironment): Record<string, string> {
  // Class fields use define semantics (ES2022), so optional variables are own keys too.
  const known = Object.keys(new EnvironmentVariables());
  const folded: Record<string, string> = {};
  for (const [legacyName, currentName] of Object.entries(LEGACY_ALIASES)) {
    const value = env[legacyName];
    if (value !== undefined && value !== '') folded[currentName] = value;
  }
  for (const name of known) {
    const value = env[name];
    // An empty assignment (`LOG_DIR=`) in an env file means "not set", as in a shell.
    if (value !== undefined && value !== '') folded[name] = value;
  }
  return folded;
}

function describe(error: ValidationError, raw: Record<string, string>): string {
  const messages = Object.values(error.constraints ?? {});
  const shown =
    SECRET_VARIABLES.has(error.property) || raw[error.property] === undefined ? '' : ` (got "${raw[error.property]}")`;
  return `${messages[0] ?? `${error.property} is invalid`}${shown}`;
}

/** CORS_ORIGINS entries without a scheme (the old format, e.g. `localhost:3000`) allow both http and https. */
function parseCorsOrigins(value: string): string[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .flatMap((entry) =>
      entry === '*' || /^[a-z]+:\/\//i.test(entry) ? [entry] : [`http://${entry}`, `https://${entry}`],
    );
}

function decodeKeys(list: string | undefined): Buffer[] {
  if (!list) return [];
  return list.split(',').map((entry) => {
    const key = decodeEncryptionKey(entry);
    if (!key) throw new ConfigValidationError(['an encryption key failed to decode after validation']);
    return key;
  });
}

/**
 * Reads the environment once, folds legacy names into current ones, validates every variable and
 * returns the typed configuration. Throws a single error naming every offending variable.
 */
export function loadConfig(env: RawEnvironment = process.env): AppConfig {
  const raw = foldLegacyNames(env);
  const vars = plainToInstance(EnvironmentVariables, raw, { exposeDefaultValues: true });
  const errors = validateSync(vars, { forbidUnknownValues: true });
  if (errors.length > 0) throw new ConfigValidationError(errors.map((error) => describe(error, raw)));

  const [currentKey] = decodeKeys(vars.ENCRYPTION_KEY);
  let providers: MailProvider[];
  try {
    providers = parseMailProviders(vars.OAUTH_PROVIDERS);
  } catch (error: unknown) {
    if (error instanceof ProviderConfigError) throw new ConfigValidationError([error.message]);
    throw error;
  }
  return new AppConfig(
    vars.NODE_ENV,
    vars.SERVICE_VERSION,
    {
      host: vars.HOST,
      port: vars.PORT,
      workers: vars.API_WORKERS ?? defaultApiWorkers(),
      threadsPerWorker: vars.API_THREADS,
      corsOrigins: parseCorsOrigins(vars.CORS_ORIGINS),
      trustProxy: vars.TRUST_PROXY,
    },
    vars.DATABASE_URL,
    vars.DATABASE_MIGRATION_URL ?? vars.DATABASE_URL,
    vars.DATABASE_POOL_SIZE,
    { url: vars.REDIS_URL, queueUrl: vars.QUEUE_REDIS_URL ?? vars.REDIS_URL, keyPrefix: vars.REDIS_KEY_PREFIX },
    { jwtSecret: vars.JWT_SECRET ?? null, jwtPublicKey: vars.JWT_PUBLIC_KEY?.replace(/\\n/g, '\n') ?? null },
    { currentKey: currentKey ?? null, previousKeys: decodeKeys(vars.ENCRYPTION_KEYS) },
    {
      imapTimeoutMs: Math.round(vars.IMAP_TIMEOUT * 1000),
      smtpTimeoutMs: Math.round(vars.SMTP_TIMEOUT * 1000),
      accountVerifyTimeoutMs: Math.round(vars.ACCOUNT_VERIFY_TIMEOUT * 1000),
      imapPoolSize: vars.IMAP_POOL_SIZE,
      smtpPoolSize: vars.SMTP_POOL_SIZE,
      maxMessageBytes: vars.MAX_MESSAGE_SIZE_MB * 1024 * 1024,
      undoSendMs: vars.UNDO_SEND_SECONDS * 1000,
      trustedAuthservIds: vars.TRUSTED_AUTHSERV_IDS.split(',')
        .map((id) => id.trim().toLowerCase())
        .filter((id) => id.length > 0),
    },
    {
      imapSync: vars.ENABLE_IMAP_SYNC,
      smtpSend: vars.ENABLE_SMTP_SEND,
      backgroundJobs: vars.ENABLE_BACKGROUND_JOBS,
      emailParsing: vars.ENABLE_EMAIL_PARSING,
    },
    {
      enabled: vars.RATE_LIMIT_ENABLED,
      perMinute: vars.RATE_LIMIT_REQUESTS_PER_MINUTE,
      perHour: vars.RATE_LIMIT_REQUESTS_PER_HOUR,
    },
    { headerName: vars.TENANT_ID_HEADER, defaultTenantId: vars.DEFAULT_TENANT_ID },
    {
      syncConcurrency: vars.SYNC_CONCURRENCY,
      sendConcurrency: vars.SEND_CONCURRENCY,
      jobLockMs: Math.round(vars.JOB_LOCK_DURATION * 1000),
      stalledCheckMs: Math.round(vars.JOB_STALLED_INTERVAL * 1000),
      healthPort: vars.WORKER_HEALTH_PORT,
      watch: {
        enabled: vars.WATCH_ENABLED,
        maxConnections: vars.WATCH_MAX_CONNECTIONS,
        pollMs: vars.WATCH_POLL_SECONDS * 1000,
        leaseMs: vars.WATCH_LEASE_SECONDS * 1000,
      },
    },
    {
      syncCron: vars.SYNC_CRON,
      reconcileMs: vars.RECONCILE_SECONDS * 1000,
      changesRetentionDays: vars.CHANGES_RETENTION_DAYS,
      healthPort: vars.SCHEDULER_HEALTH_PORT,
    },
    { level: vars.LOG_LEVEL, dir: vars.LOG_DIR ?? null },
    vars.QUEUE_DASHBOARD_USERNAME !== undefined && vars.QUEUE_DASHBOARD_PASSWORD !== undefined
      ? { username: vars.QUEUE_DASHBOARD_USERNAME, password: vars.QUEUE_DASHBOARD_PASSWORD }
      : null,
    {
      policy: vars.OUTBOUND_POLICY ?? (vars.NODE_ENV === 'production' ? 'public' : 'any'),
      allowedHosts: parseAllowedHosts(vars.OUTBOUND_ALLOWED_HOSTS ?? '') ?? [],
      allowedPorts: parsePortList(vars.OUTBOUND_ALLOWED_PORTS) ?? [],
    },
    {
      concurrency: vars.WEBHOOK_CONCURRENCY,
      timeoutMs: Math.round(vars.WEBHOOK_TIMEOUT * 1000),
      retryWindowMs: Math.round(vars.WEBHOOK_RETRY_HOURS * 3600 * 1000),
      retryBaseMs: Math.round(vars.WEBHOOK_RETRY_BASE_SECONDS * 1000),
      sweepMs: Math.round(vars.WEBHOOK_SWEEP_SECONDS * 1000),
    },
    {
      providers: new Map(providers.map((provider) => [provider.id, provider])),
      redirectBaseUrl: vars.OAUTH_REDIRECT_BASE_URL?.replace(/\/+$/, '') ?? null,
      completionUrl: vars.OAUTH_COMPLETION_URL ?? null,
      refreshSkewMs: Math.round(vars.OAUTH_REFRESH_SKEW_SECONDS * 1000),
      tokenTimeoutMs: Math.round(vars.OAUTH_TOKEN_TIMEOUT * 1000),
    },
  );
}

/**
 * For process entry points: a bad configuration ends the process with one line on stderr
 * instead of a stack trace.
 */
export function loadConfigOrExit(env: RawEnvironment = process.env): AppConfig {
  try {
    return loadConfig(env);
  } catch (error: unknown) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}
