export { MissingTenantError, TenantContext } from './tenant-context.js';
export { TenancyModule } from './tenancy.module.js';
export { TenantScope } from './tenant-scope.js';
