import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';

const TENANT_KEY = 'tenantId';

export class MissingTenantError extends Error {
  constructor() {
    super('No tenant in the current context: data access outside a request or job is refused');
  }
}

/**
 * The tenant of the request or job being handled, carried by AsyncLocalStorage so it reaches the
 * data layer without being passed through every call.
 */
@Injectable()
export class TenantContext {
  constructor(private readonly cls: ClsService) {}

  get tenantId(): string {
    const tenantId = this.cls.isActive() ? this.cls.get<string | undefined>(TENANT_KEY) : undefined;
    if (!tenantId) throw new MissingTenantError();
    return tenantId;
  }

  get hasTenant(): boolean {
    return this.cls.isActive() && Boolean(this.cls.get<string | undefined>(TENANT_KEY));
  }

  /** Set once per request by the authentication guard. */
  enter(tenantId: string): void {
    this.cls.set(TENANT_KEY, tenantId);
  }

  /** Runs `work` as `tenantId`: how workers and crons act for the tenant a job names. */
  async run<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    return this.cls.run(async () => {
      this.cls.set(TENANT_KEY, tenantId);
      return work();
    });
  }

  /** A value of the current context, such as TenantScope's open transaction. */
  get<T>(key: string): T | undefined {
    return this.cls.isActive() ? (this.cls.get(key) as T | undefined) : undefined;
  }

  /** Runs `work` in a child context that sees `key` = `value`; siblings running concurrently do not. */
  async with<T>(key: string, value: unknown, work: () => Promise<T>): Promise<T> {
    return this.cls.run({ ifNested: 'inherit' }, async () => {
      this.cls.set(key, value);
      return work();
    });
  }
}
