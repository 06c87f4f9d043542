import { loadConfig } from '@app/config';
import type { AppConfig } from '@app/config';

export const TEST_JWT_SECRET = 'test-jwt-secret-that-is-long-enough-for-hs256';
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 1).toString('base64');

/**
 * Configuration for an app under test: the run's database, Redis prefix and secrets from the
 * global setup, one API process, plus whatever a test overrides.
 */
export function testConfig(overrides: Record<string, string> = {}): AppConfig {
  return loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    API_WORKERS: '1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'ERROR',
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    WORKER_HEALTH_PORT: '0',
    SCHEDULER_HEALTH_PORT: '0',
    ...overrides,
  });
}

/**
 * For tests of code that acts on every tenant at once (the crons): the run's second database,
 * where no other test file's tenants live (see the global setup).
 */
export function crossTenantTestConfig(overrides: Record<string, string> = {}): AppConfig {
  return testConfig({
    DATABASE_URL: process.env.TEST_CROSS_TENANT_DATABASE_URL ?? '',
    DATABASE_MIGRATION_URL: process.env.TEST_CROSS_TENANT_DATABASE_MIGRATION_URL ?? '',
    ...overrides,
  });
}

/** Polls until `check` passes or the deadline expires; the last failure is rethrown. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 15_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error: unknown) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
