import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { TEST_ENCRYPTION_KEY } from './test-config.js';
import { PROJECT_ROOT } from './project-root.js';

export type BuiltApp = 'api' | 'worker' | 'scheduler';

export interface AppProcessOptions {
  app: BuiltApp;
  /** The variable that sets the app's listening port (PORT, WORKER_HEALTH_PORT, …). */
  portVariable: string;
  environment: Record<string, string>;
  /** How long SIGTERM may take before the process is killed. */
  stopTimeoutMs: number;
}

/** A built app (`npm run build`) started by its own main.ts, as in production, listening on a free port. */
export class AppProcess {
  protected constructor(
    private readonly child: ChildProcess,
    readonly baseUrl: string,
    private readonly output: string[],
    private readonly stopTimeoutMs: number,
  ) {}

  protected static async spawn<T extends AppProcess>(
    create: (child: ChildProcess, baseUrl: string, output: string[], stopTimeoutMs: number) => T,
    options: AppProcessOptions,
  ): Promise<T> {
    const port = await freePort();
    const output: string[] = [];
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'apps', options.app, 'src', 'main.js')], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'ERROR',
        ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
        [options.portVariable]: String(port),
        ...options.environment,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr])
      stream?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const started = create(child, `http://127.0.0.1:${port}`, output, options.stopTimeoutMs);
    await started.waitUntilListening(options.app);
    return started;
  }

  /** The process id, e.g. to read its memory use from /proc. */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Everything the process printed, for assertions on logs and for failure messages. */
  get logs(): string {
    return this.output.join('');
  }

  /** True while the process runs: a fault case checks its worker survived what it broke. */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Ends the process without a chance to clean up (SIGKILL), as a crash or an OOM kill would. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), this.stopTimeoutMs);
    await exited;
    clearTimeout(timer);
  }

  private async waitUntilListening(app: BuiltApp, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`${app} exited with ${this.child.exitCode}:\n${this.logs}`);
      try {
        await fetch(`${this.baseUrl}/health`);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await this.stop();
    throw new Error(`${app} did not listen within ${timeoutMs} ms:\n${this.logs}`);
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
