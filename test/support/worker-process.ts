import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from './test-config.js';
import { PROJECT_ROOT } from './project-root.js';

const WORKER_ENTRY = join(PROJECT_ROOT, 'dist', 'apps', 'worker', 'src', 'main.js');

/**
 * The built worker (`npm run build`), started by its own main.ts, as a child process a test may
 * SIGKILL. Suites in different Jest projects that share a Jest worker process cannot both run
 * BullMQ workers in-process (the second one's dynamic imports resolve against the first one's
 * torn-down module registry), so HTTP-level suites use this instead of an in-process processor.
 * `env` usually carries a REDIS_KEY_PREFIX of the suite's own, so it takes no other suite's jobs.
 * `output` collects what the process prints; without it, its output is copied to the test's stderr.
 * For a worker whose health listener a test waits on or reads, see BackgroundAppProcess.
 */
export function startWorkerProcess(env: Record<string, string> = {}, output?: string[]): ChildProcess {
  const child = spawn(process.execPath, [WORKER_ENTRY], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      JWT_SECRET: TEST_JWT_SECRET,
      ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      WORKER_HEALTH_PORT: '0',
      SYNC_CONCURRENCY: '1',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'ERROR',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr])
    stream?.on('data', (chunk: Buffer) =>
      output ? output.push(chunk.toString()) : process.stderr.write(`[worker ${child.pid}] ${chunk.toString()}`),
    );
  return child;
}

/** SIGTERM (or the given signal), then SIGKILL if the process has not exited within 10 s. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
