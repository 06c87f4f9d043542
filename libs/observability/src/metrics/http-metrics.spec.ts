import { Registry } from 'prom-client';

import { HttpMetrics, requestLabels, UNMATCHED_ROUTE } from './http-metrics.js';

describe('requestLabels', () => {
  it('keeps the route template and the exact status', () => {
    expect(requestLabels('GET', '/api/messages/:id', 404)).toEqual({
      method: 'GET',
      route: '/api/messages/:id',
      status_code: '404',
    });
  });

  it('puts every request without a matched route under one label', () => {
    expect(requestLabels('GET', undefined, 404).route).toBe(UNMATCHED_ROUTE);
    expect(requestLabels('POST', '', 404).route).toBe(UNMATCHED_ROUTE);
  });

  it('upper-cases known methods and folds the others into OTHER', () => {
    expect(requestLabels('get', '/health', 200).method).toBe('GET');
    expect(requestLabels('PROPFIND', undefined, 404).method).toBe('OTHER');
    expect(requestLabels('M-SEARCH', undefined, 404).method).toBe('OTHER');
  });

  it('labels an impossible status as unknown instead of inventing a series', () => {
    expect(requestLabels('GET', '/health', 0).status_code).toBe('unknown');
    expect(requestLabels('GET', '/health', 1000).status_code).toBe('unknown');
  });
});

describe('HttpMetrics', () => {
  it('counts and times requests per label combination, never by raw URL', async () => {
    const registry = new Registry();
    const sut = new HttpMetrics(registry);

    sut.observe('GET', '/api/messages/:id', 200, 0.004);
    sut.observe('GET', '/api/messages/:id', 200, 0.02);
    sut.observe('get', '/api/messages/:id', 200, 0.02);
    sut.observe('GET', undefined, 404, 0.001);
    sut.observe('PROPFIND', undefined, 404, 0.001);

    const text = await registry.metrics();
    expect(text).toContain('requests_total{method="GET",route="/api/messages/:id",status_code="200"} 3');
    expect(text).toContain(
      'request_duration_seconds_count{method="GET",route="/api/messages/:id",status_code="200"} 3',
    );
    expect(text).toContain(
      'request_duration_seconds_bucket{le="0.005",method="GET",route="/api/messages/:id",status_code="200"} 1',
    );
    expect(text).toContain('requests_total{method="GET",route="unmatched",status_code="404"} 1');
    expect(text).toContain('requests_total{method="OTHER",route="unmatched",status_code="404"} 1');
  });
});
