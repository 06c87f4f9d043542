import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

import { freePort } from './api-process.js';
import { TEST_ENCRYPTION_KEY } from './test-config.js';

const ROOT = join(import.meta.dirname, '..', '..');

type BackgroundApp = 'worker' | 'scheduler';
const PORT_VARIABLE: Record<BackgroundApp, string> = { worker: 'WORKER_HEALTH_PORT', scheduler: 'SCHEDULER_HEALTH_PORT' };

/** The built worker or scheduler (`npm run build`) started by its own main.ts, as in production, with its health listener on a free port. */
export class BackgroundAppProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly baseUrl: string,
    private readonly output: string[],
  ) {}

  static async start(app: BackgroundApp, overrides: Record<string, string> = {}): Promise<BackgroundAppProcess> {
    const port = await freePort();
    const output: string[] = [];
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'apps', app, 'src', 'main.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'ERROR',
        ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
        [PORT_VARIABLE[app]]: String(port),
        ...overrides,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const started = new BackgroundAppProcess(child, `http://127.0.0.1:${port}`, output);
    await started.waitUntilListening();
    return started;
  }

  get logs(): string {
    return this.output.join('');
  }

  async get(path: string): Promise<{ statusCode: number; contentType: string; body: string }> {
    const response = await fetch(`${this.baseUrl}${path}`);
    return { statusCode: response.status, contentType: response.headers.get('content-type') ?? '', body: await response.text() };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  private async waitUntilListening(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`process exited with ${this.child.exitCode}:\n${this.logs}`);
      try {
        await fetch(`${this.baseUrl}/health`);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await this.stop();
    throw new Error(`process did not listen within ${timeoutMs} ms:\n${this.logs}`);
  }
}
