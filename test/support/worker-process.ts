import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import { TEST_ENCRYPTION_KEY } from './test-config.js';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Boots the built WorkerModule (`npm run build`) with its processors. main.ts refuses to start
 * until every job name has a processor (send-email has none yet), so this skips that check and
 * starts the same module main.ts does. The script is CommonJS on purpose: worker threads inherit
 * the process's flags, and `--input-type=module` would stop every parser thread from loading.
 */
const WORKER_ENTRY = `
  (async () => {
    const { loadConfigOrExit } = await import('./dist/libs/config/src/index.js');
    const { WorkerModule } = await import('./dist/apps/worker/src/worker.module.js');
    const { NestFactory } = await import('@nestjs/core');
    const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(loadConfigOrExit()), { logger: ['error'] });
    app.enableShutdownHooks();
    process.stdout.write('worker ready\\n');
  })();
`;

export function startWorker(overrides: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, ['-e', WORKER_ENTRY], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.TEST_WORKER_LOG_LEVEL ?? 'ERROR',
      ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      WORKER_HEALTH_PORT: '0',
      SYNC_CONCURRENCY: '1',
      ...overrides,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[worker ${child.pid}] ${chunk.toString()}`));
  child.stdout?.resume();
  return child;
}

export async function stopWorker(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}
