import { AppProcess } from './app-process.js';
import { TEST_JWT_SECRET } from './test-config.js';

export interface InjectOptions {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  payload?: unknown;
  /** Aborts the request after this long (a fault case telling a hang from a slow answer). */
  timeoutMs?: number;
  /** Answers a redirect itself instead of following it (to a host that exists only in the test's config). */
  manualRedirect?: boolean;
}

export interface ApiResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

/**
 * The built API (`npm run build`) running as its own process, as in production. Jest's module
 * system cannot load CommonJS packages that require ESM-only NestJS 12 (such as
 * @nestjs/throttler) on Node 20, so HTTP-level tests talk to a real process instead.
 */
export class ApiProcess extends AppProcess {
  static async start(overrides: Record<string, string> = {}): Promise<ApiProcess> {
    return AppProcess.spawn((...parts) => new ApiProcess(...parts), {
      app: 'api',
      portVariable: 'PORT',
      environment: { API_WORKERS: '1', JWT_SECRET: TEST_JWT_SECRET, RATE_LIMIT_ENABLED: 'false', ...overrides },
      stopTimeoutMs: 10_000,
    });
  }

  async inject(options: InjectOptions): Promise<ApiResponse> {
    const hasBody = options.payload !== undefined;
    const response = await fetch(`${this.baseUrl}${options.url}`, {
      method: options.method ?? 'GET',
      headers: {
        ...(hasBody && typeof options.payload !== 'string' ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      body: hasBody
        ? typeof options.payload === 'string'
          ? options.payload
          : JSON.stringify(options.payload)
        : undefined,
      signal: options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs),
      redirect: options.manualRedirect ? 'manual' : 'follow',
    });
    const body = await response.text();
    return {
      statusCode: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      body,
      json: <T>() => JSON.parse(body) as T,
    };
  }
}
