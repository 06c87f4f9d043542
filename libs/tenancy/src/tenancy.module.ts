import { Global, Module } from '@nestjs/common';
import { ClsModule } from 'nestjs-cls';

import { TenantContext } from './tenant-context.js';
import { TenantScope } from './tenant-scope.js';

/** Request-scoped tenant context (mounted as middleware for every HTTP request) and the tenant-scoped transaction. */
@Global()
@Module({
  imports: [ClsModule.forRoot({ global: true, middleware: { mount: true } })],
  providers: [TenantContext, TenantScope],
  exports: [TenantContext, TenantScope],
})
export class TenancyModule {}
