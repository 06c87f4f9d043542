import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from './test-config.js';

const API_ENTRY = join(import.meta.dirname, '..', '..', 'dist', 'apps', 'api', 'src', 'main.js');

export interface InjectOptions {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  payload?: unknown;
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
export class ApiProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly baseUrl: string,
    private readonly output: string[],
  ) {}

  static async start(overrides: Record<string, string> = {}): Promise<ApiProcess> {
    const port = await freePort();
    const output: string[] = [];
    const child = spawn(process.execPath, [API_ENTRY], {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(port),
        API_WORKERS: '1',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'ERROR',
        JWT_SECRET: TEST_JWT_SECRET,
        ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
        RATE_LIMIT_ENABLED: 'false',
        ...overrides,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const api = new ApiProcess(child, `http://127.0.0.1:${port}`, output);
    await api.waitUntilListening();
    return api;
  }

  /** The process id, e.g. to read its memory use from /proc. */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Everything the process printed, for assertions on logs and for failure messages. */
  get logs(): string {
    return this.output.join('');
  }

  async inject(options: InjectOptions): Promise<ApiResponse> {
    const hasBody = options.payload !== undefined;
    const response = await fetch(`${this.baseUrl}${options.url}`, {
      method: options.method ?? 'GET',
      headers: { ...(hasBody && typeof options.payload !== 'string' ? { 'content-type': 'application/json' } : {}), ...options.headers },
      body: hasBody ? (typeof options.payload === 'string' ? options.payload : JSON.stringify(options.payload)) : undefined,
    });
    const body = await response.text();
    return {
      statusCode: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      body,
      json: <T>() => JSON.parse(body) as T,
    };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  private async waitUntilListening(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`API exited with ${this.child.exitCode}:\n${this.logs}`);
      try {
        await fetch(`${this.baseUrl}/health`);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await this.stop();
    throw new Error(`API did not listen within ${timeoutMs} ms:\n${this.logs}`);
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
