import { Global, Module } from '@nestjs/common';

import { TenantContext } from './tenant-context.js';
import { TenantScope } from './tenant-scope.js';

/** The tenant context (opened per HTTP request by a hook of the API, per job by the worker) and the tenant-scoped transaction. */
@Global()
@Module({
  providers: [TenantContext, TenantScope],
  exports: [TenantContext, TenantScope],
})
export class TenancyModule {}
