/**
 * The baseline as its own server, deployed like the API: BASELINE_WORKERS processes (node
 * cluster) sharing PORT, each with a pool of POOL_SIZE connections. The routes and their
 * captured statements come as JSON in BASELINE_ROUTES.
 */
import cluster from 'node:cluster';

import { startBaseline } from './baseline-server.js';
import type { CapturedQuery } from './baseline-server.js';

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const workers = Number(required('BASELINE_WORKERS'));
if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  process.once('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const baseline = await startBaseline(
    required('DATABASE_URL'),
    Number(required('POOL_SIZE')),
    required('TENANT_ID'),
    JSON.parse(required('BASELINE_ROUTES')) as Record<string, CapturedQuery>,
    Number(required('PAGE_LIMIT')),
    Number(required('PORT')),
  );
  process.once('SIGTERM', () => {
    void baseline.server.close().then(() => baseline.pool.end());
  });
}
