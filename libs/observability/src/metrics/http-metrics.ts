import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

/** The label of every request that matched no route, so scanners cannot create a series per URL. */
export const UNMATCHED_ROUTE = 'unmatched';
/** Methods outside this list (WebDAV verbs, garbage) share one label value. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const OTHER_METHOD = 'OTHER';

type RequestLabel = 'method' | 'route' | 'status_code';

export interface RequestLabels {
  method: string;
  route: string;
  status_code: string;
}

/**
 * Labels with bounded cardinality: the route template the router matched (`/api/messages/:id`,
 * never the URL with its ids and query), one value for unmatched requests and unknown methods.
 */
export function requestLabels(method: string, routeTemplate: string | undefined, statusCode: number): RequestLabels {
  const upper = method.toUpperCase();
  return {
    method: KNOWN_METHODS.has(upper) ? upper : OTHER_METHOD,
    route: routeTemplate === undefined || routeTemplate === '' ? UNMATCHED_ROUTE : routeTemplate,
    status_code:
      Number.isInteger(statusCode) && statusCode >= 100 && statusCode <= 599 ? String(statusCode) : 'unknown',
  };
}

interface RequestSeries {
  duration: Histogram.Internal<RequestLabel>;
  total: Counter.Internal;
}

/** API requests: how many and how long, per method, route template and status. */
export class HttpMetrics {
  private readonly duration: Histogram<RequestLabel>;
  private readonly total: Counter<RequestLabel>;
  /**
   * The child series per label combination, so a request costs one map lookup and two additions
   * instead of prom-client hashing a label object twice. Bounded like the labels themselves.
   */
  private readonly series = new Map<string, RequestSeries>();

  constructor(registry: Registry) {
    this.duration = new Histogram({
      name: 'request_duration_seconds',
      help: 'Time from receiving an HTTP request to sending its response, by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.total = new Counter({
      name: 'requests_total',
      help: 'HTTP requests answered, by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      registers: [registry],
    });
  }

  observe(method: string, routeTemplate: string | undefined, statusCode: number, seconds: number): void {
    const key = `${method} ${statusCode} ${routeTemplate ?? ''}`;
    let series = this.series.get(key);
    if (series === undefined) {
      const labels = requestLabels(method, routeTemplate, statusCode);
      series = { duration: this.duration.labels(labels), total: this.total.labels(labels) };
      this.series.set(key, series);
    }
    series.duration.observe(seconds);
    series.total.inc();
  }
}
