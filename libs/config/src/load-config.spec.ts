import { availableParallelism } from 'node:os';

import { ConfigValidationError, defaultApiWorkers, loadConfig } from './load-config.js';

const KEY_HEX = 'a'.repeat(64);
const OLD_KEY_BASE64 = Buffer.alloc(32, 7).toString('base64');

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const sut = loadConfig({});

    expect(sut.http).toEqual({
      host: '0.0.0.0',
      port: 5000,
      workers: defaultApiWorkers(availableParallelism()),
      threadsPerWorker: 2,
      corsOrigins: ['http://localhost:3000', 'https://localhost:3000'],
      trustProxy: false,
    });
    expect(sut.redis).toEqual({
      url: 'redis://localhost:6379/0',
      queueUrl: 'redis://localhost:6379/0',
      keyPrefix: 'mail',
    });
    expect(sut.mail).toEqual({
      imapTimeoutMs: 30_000,
      smtpTimeoutMs: 30_000,
      accountVerifyTimeoutMs: 10_000,
      imapPoolSize: 10,
      smtpPoolSize: 5,
      maxMessageBytes: 18 * 1024 * 1024,
      undoSendMs: 0,
      trustedAuthservIds: [],
    });
    expect(sut.outbound).toEqual({
      policy: 'any',
      allowedHosts: [],
      allowedPorts: [25, 143, 465, 587, 993, 2525, 80, 443],
    });
    expect(sut.features).toEqual({ imapSync: true, smtpSend: true, backgroundJobs: true, emailParsing: true });
    expect(sut.rateLimit).toEqual({ enabled: true, perMinute: 60, perHour: 1000 });
    expect(sut.tenancy).toEqual({ headerName: 'X-Tenant-ID', defaultTenantId: 'default' });
    expect(sut.scheduler.syncCron).toBe('0 * * * *');
    expect(sut.scheduler.reconcileMs).toBe(60_000);
    expect(sut.worker).toEqual({
      syncConcurrency: 2,
      sendConcurrency: 5,
      jobLockMs: 30_000,
      stalledCheckMs: 30_000,
      healthPort: 5001,
      watch: { enabled: true, maxConnections: 500, pollMs: 120_000, leaseMs: 30_000 },
    });
    expect(sut.log).toEqual({ level: 'INFO', dir: null });
    expect(sut.encryption).toEqual({ currentKey: null, previousKeys: [] });
    expect(sut.queueDashboard).toBeNull();
  });

  it('refuses internal addresses by default in production only, and parses the outbound allowlist', () => {
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x', ENCRYPTION_KEY: KEY_HEX }).outbound.policy).toBe(
      'public',
    );
    expect(
      loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x', ENCRYPTION_KEY: KEY_HEX, OUTBOUND_POLICY: 'ANY' }).outbound
        .policy,
    ).toBe('any');
    const sut = loadConfig({
      OUTBOUND_POLICY: 'allowlist',
      OUTBOUND_ALLOWED_HOSTS: 'Mail.Corp.Internal., 10.0.0.0/8:993, 127.0.0.1:20000-29999, fd00::/8, [::1]:143',
      OUTBOUND_ALLOWED_PORTS: '587, 993',
      ACCOUNT_VERIFY_TIMEOUT: '2.5',
    });

    expect(sut.mail.accountVerifyTimeoutMs).toBe(2_500);
    expect(sut.outbound).toEqual({
      policy: 'allowlist',
      allowedPorts: [587, 993],
      allowedHosts: [
        { kind: 'name', name: 'mail.corp.internal', ports: null },
        { kind: 'network', address: '10.0.0.0', prefix: 8, family: 'ipv4', ports: { from: 993, to: 993 } },
        { kind: 'network', address: '127.0.0.1', prefix: 32, family: 'ipv4', ports: { from: 20000, to: 29999 } },
        { kind: 'network', address: 'fd00::', prefix: 8, family: 'ipv6', ports: null },
        { kind: 'network', address: '::1', prefix: 128, family: 'ipv6', ports: { from: 143, to: 143 } },
      ],
    });
  });

  it.each([
    [{ OUTBOUND_POLICY: 'open' }, /OUTBOUND_POLICY must be one of public, allowlist, any/],
    [{ OUTBOUND_POLICY: 'allowlist' }, /OUTBOUND_ALLOWED_HOSTS \(required with OUTBOUND_POLICY=allowlist\)/],
    [{ OUTBOUND_ALLOWED_HOSTS: '10.0.0.0/33' }, /OUTBOUND_ALLOWED_HOSTS/],
    [{ OUTBOUND_ALLOWED_HOSTS: 'mail.example.com:0' }, /OUTBOUND_ALLOWED_HOSTS/],
    [{ OUTBOUND_ALLOWED_HOSTS: '127.0.0.1:30000-20000' }, /OUTBOUND_ALLOWED_HOSTS/],
    [{ OUTBOUND_ALLOWED_HOSTS: 'mail.example.com/24' }, /OUTBOUND_ALLOWED_HOSTS/],
    [{ OUTBOUND_ALLOWED_HOSTS: 'bad host' }, /OUTBOUND_ALLOWED_HOSTS/],
    [{ OUTBOUND_ALLOWED_PORTS: '25,smtp' }, /OUTBOUND_ALLOWED_PORTS/],
    [{ OUTBOUND_ALLOWED_PORTS: '70000' }, /OUTBOUND_ALLOWED_PORTS/],
    [{ ACCOUNT_VERIFY_TIMEOUT: '0' }, /ACCOUNT_VERIFY_TIMEOUT/],
  ])('refuses the outbound setting %p', (env, problem) => {
    expect(() => loadConfig(env)).toThrow(problem);
  });

  it('runs one API process per core by default, at most four, and honours an explicit API_WORKERS', () => {
    expect([1, 2, 3, 4, 8, 64].map((cores) => defaultApiWorkers(cores))).toEqual([1, 2, 3, 4, 4, 4]);
    expect(defaultApiWorkers(0)).toBe(1);
    // An empty assignment, as .env.example ships it, means the per-core default.
    expect(loadConfig({ API_WORKERS: '' }).http.workers).toBe(defaultApiWorkers());
    expect(loadConfig({ API_WORKERS: '6' }).http.workers).toBe(6);
    expect(() => loadConfig({ API_WORKERS: '0' })).toThrow(/API_WORKERS/);
  });

  it('turns the queue dashboard on only with both operator credentials, never echoing the password', () => {
    const sut = loadConfig({ QUEUE_DASHBOARD_USERNAME: 'ops', QUEUE_DASHBOARD_PASSWORD: 'correct-horse-battery' });
    expect(sut.queueDashboard).toEqual({ username: 'ops', password: 'correct-horse-battery' });

    expect(() => loadConfig({ QUEUE_DASHBOARD_USERNAME: 'ops' })).toThrow(
      /QUEUE_DASHBOARD_PASSWORD must be set together/,
    );
    expect(() => loadConfig({ QUEUE_DASHBOARD_PASSWORD: 'correct-horse-battery' })).toThrow(
      /QUEUE_DASHBOARD_USERNAME must be set together/,
    );
    expect(() =>
      loadConfig({ QUEUE_DASHBOARD_USERNAME: 'o:ps', QUEUE_DASHBOARD_PASSWORD: 'correct-horse-battery' }),
    ).toThrow(/without spaces or colons/);
    let message = '';
    try {
      loadConfig({ QUEUE_DASHBOARD_USERNAME: 'ops', QUEUE_DASHBOARD_PASSWORD: 'too-short-pw' });
    } catch (error: unknown) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/at least 16 characters/);
    expect(message).not.toContain('too-short-pw');
  });

  it('accepts the legacy names and lets the current name win when both are set', () => {
    const sut = loadConfig({
      FLASK_HOST: '127.0.0.1',
      FLASK_PORT: '8080',
      GUNICORN_WORKERS: '3',
      GUNICORN_THREADS: '8',
      CELERY_BROKER_URL: 'redis://queue:6379/1',
      ENABLE_CELERY_TASKS: 'false',
      PORT: '9090',
    });

    expect(sut.http.host).toBe('127.0.0.1');
    expect(sut.http.port).toBe(9090);
    expect(sut.http.workers).toBe(3);
    expect(sut.http.threadsPerWorker).toBe(8);
    expect(sut.redis.queueUrl).toBe('redis://queue:6379/1');
    expect(sut.features.backgroundJobs).toBe(false);
  });

  it('parses booleans, numbers, log levels and keys', () => {
    const sut = loadConfig({
      RATE_LIMIT_ENABLED: 'no',
      IMAP_TIMEOUT: '2.5',
      JOB_LOCK_DURATION: '2',
      JOB_STALLED_INTERVAL: '5',
      LOG_LEVEL: 'debug',
      ENCRYPTION_KEY: KEY_HEX,
      ENCRYPTION_KEYS: OLD_KEY_BASE64,
      CORS_ORIGINS: 'https://app.example.com, localhost:3000',
      MAX_MESSAGE_SIZE_MB: '25',
    });

    expect(sut.rateLimit.enabled).toBe(false);
    expect(sut.mail.imapTimeoutMs).toBe(2500);
    expect(sut.mail.maxMessageBytes).toBe(25 * 1024 * 1024);
    expect(sut.worker.jobLockMs).toBe(2000);
    expect(sut.worker.stalledCheckMs).toBe(5000);
    expect(sut.log.level).toBe('DEBUG');
    expect(sut.encryption.currentKey).toEqual(Buffer.from(KEY_HEX, 'hex'));
    expect(sut.encryption.previousKeys).toEqual([Buffer.alloc(32, 7)]);
    expect(sut.http.corsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:3000',
      'https://localhost:3000',
    ]);
  });

  it('reads TRUSTED_AUTHSERV_IDS as a lower-case list and refuses what is no host name', () => {
    expect(loadConfig({ TRUSTED_AUTHSERV_IDS: ' MX.Example.NET, mx2.example.net ,' }).mail.trustedAuthservIds).toEqual([
      'mx.example.net',
      'mx2.example.net',
    ]);
    expect(() => loadConfig({ TRUSTED_AUTHSERV_IDS: 'mx.example.net; spf=pass' })).toThrow(/TRUSTED_AUTHSERV_IDS/);
  });

  it('treats an empty assignment as unset', () => {
    expect(loadConfig({ LOG_DIR: '', PORT: '' }).http.port).toBe(5000);
  });

  it('requires JWT_SECRET and ENCRYPTION_KEY in production, naming both on one line', () => {
    const attempt = (): unknown => loadConfig({ NODE_ENV: 'production' });

    expect(attempt).toThrow(ConfigValidationError);
    expect(attempt).toThrow(/JWT_SECRET is required when NODE_ENV=production/);
    expect(attempt).toThrow(/ENCRYPTION_KEY is required/);
    try {
      attempt();
    } catch (error: unknown) {
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('accepts JWT_PUBLIC_KEY instead of JWT_SECRET in production', () => {
    const sut = loadConfig({
      NODE_ENV: 'production',
      ENCRYPTION_KEY: KEY_HEX,
      JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\\nMIIB\\n-----END PUBLIC KEY-----',
    });

    expect(sut.auth.jwtSecret).toBeNull();
    expect(sut.auth.jwtPublicKey).toBe('-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----');
  });

  it('names every malformed variable and never echoes secrets', () => {
    let message = '';
    try {
      loadConfig({
        PORT: 'abc',
        SYNC_CRON: 'every hour',
        ENCRYPTION_KEY: 'short-secret',
        DATABASE_URL: 'mysql://x',
        MAX_MESSAGE_SIZE_MB: '0.5',
      });
    } catch (error: unknown) {
      message = (error as Error).message;
    }

    expect(message).toMatch(/PORT must .*\(got "abc"\)/);
    expect(message).toMatch(/SYNC_CRON must be a cron expression/);
    expect(message).toMatch(/ENCRYPTION_KEY .*32 bytes/);
    expect(message).toMatch(/DATABASE_URL/);
    expect(message).toMatch(/MAX_MESSAGE_SIZE_MB must .*\(got "0\.5"\)/);
    expect(message).not.toContain('short-secret');
    expect(message).not.toContain('mysql://x');
  });
});
