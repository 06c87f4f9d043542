export { TenantContext } from './tenant-context.js';
export { TenancyModule } from './tenancy.module.js';
export { TenantScope } from './tenant-scope.js';
export type { NamedStatement } from './tenant-scope.js';
export { PREPARED_PER_CONNECTION, queryAsTenant, SET_TENANT_SQL, TenantStatement } from './tenant-statement.js';
