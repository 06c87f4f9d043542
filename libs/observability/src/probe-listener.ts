import { createServer } from 'node:http';
import type { ServerResponse, Server } from 'node:http';

import type { DependencyHealthService } from './health/dependency-health.service.js';
import type { MetricsRegistry } from './metrics/metrics-registry.js';

export interface Probes {
  health: DependencyHealthService;
  metrics: MetricsRegistry;
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * A bare HTTP listener for apps that have no API (worker, scheduler), so orchestrators probe
 * them and Prometheus scrapes them the same way as the API: GET /health → 200 or 503 with the
 * same body, GET /metrics → this app's metrics in Prometheus text format.
 */
export async function listenForProbes(probes: Probes, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (req.method === 'GET' && path === '/health') {
      probes.health.check().then(
        (report) => sendJson(res, report.status === 'healthy' ? 200 : 503, report),
        () => sendJson(res, 503, { status: 'unhealthy' }),
      );
    } else if (req.method === 'GET' && path === '/metrics') {
      probes.metrics.exposition().then(
        (text) => res.writeHead(200, { 'content-type': probes.metrics.contentType }).end(text),
        () =>
          sendJson(res, 503, {
            statusCode: 503,
            error: 'Service Unavailable',
            message: 'metrics could not be collected',
          }),
      );
    } else {
      sendJson(res, 404, { statusCode: 404, error: 'Not Found' });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
