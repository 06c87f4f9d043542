import { createServer } from 'node:http';
import type { Server } from 'node:http';

import type { DependencyHealthService } from './dependency-health.service.js';

/**
 * A bare HTTP listener for apps that have no API (worker, scheduler), so orchestrators can probe
 * them the same way as the API: GET /health → 200 or 503 with the same body.
 */
export async function listenForHealthChecks(health: DependencyHealthService, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/health') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 404, error: 'Not Found' }));
      return;
    }
    health.check().then(
      (report) => {
        res.writeHead(report.status === 'healthy' ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(report));
      },
      () => res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'unhealthy' })),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
