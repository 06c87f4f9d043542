export { DependencyHealthService } from './health/dependency-health.service.js';
export type { HealthReport } from './health/dependency-health.service.js';
export { HealthCheckModule } from './health/health-check.module.js';
export { listenForHealthChecks } from './health/health-listener.js';
export { LoggingModule } from './logging.module.js';
export type { TenantTaggedRequest } from './logging.module.js';
export { generateRequestId, REQUEST_ID_HEADER, requestIdFrom } from './request-id.js';
