import type { AppConfig } from '@app/config';
import type {
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorFunction,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import type { Redis } from 'ioredis';

/** The body of GET /health, kept in the shape clients of the previous service poll for. */
export interface HealthReport {
  status: 'healthy' | 'unhealthy';
  service: string;
  version: string;
  app: string;
  timestamp: string;
  checks: HealthCheckResult['details'];
}

const CHECK_TIMEOUT_MS = 2_000;

/** Not decorated for DI: `HealthCheckModule.forApp` builds it with the name of the app it runs in. */
export class DependencyHealthService {
  constructor(
    private readonly app: string,
    private readonly config: AppConfig,
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly redis: Redis,
  ) {}

  async check(): Promise<HealthReport> {
    const checks: HealthIndicatorFunction[] = [
      () => this.database.pingCheck('database', { timeout: CHECK_TIMEOUT_MS }),
      () =>
        this.indicators
          .check('redis')
          .attempt(async () => ({ reply: await this.redis.ping() }))
          .withTimeout(CHECK_TIMEOUT_MS),
    ];
    let result: HealthCheckResult;
    try {
      result = await this.health.check(checks);
    } catch (error: unknown) {
      result = unhealthyResult(error);
    }
    return {
      status: result.status === 'ok' ? 'healthy' : 'unhealthy',
      service: this.config.serviceName,
      version: this.config.serviceVersion,
      app: this.app,
      timestamp: new Date().toISOString(),
      checks: result.details,
    };
  }
}

/** Terminus reports a failed check by throwing a 503 whose response is the full result. */
function unhealthyResult(error: unknown): HealthCheckResult {
  const response: unknown =
    typeof error === 'object' && error !== null && 'getResponse' in error && typeof error.getResponse === 'function'
      ? (error.getResponse as () => unknown)()
      : null;
  if (response !== null && typeof response === 'object' && 'details' in response) return response as HealthCheckResult;
  return { status: 'error', details: { health: { status: 'down', message: 'health check failed' } } };
}
