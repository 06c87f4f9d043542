import { AsyncLocalStorage } from 'node:async_hooks';

import { Injectable } from '@nestjs/common';

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
  private readonly storage = new AsyncLocalStorage<Map<string, unknown>>();

  get tenantId(): string {
    const tenantId = this.storage.getStore()?.get(TENANT_KEY);
    if (typeof tenantId !== 'string' || tenantId === '') throw new MissingTenantError();
    return tenantId;
  }

  get hasTenant(): boolean {
    return Boolean(this.storage.getStore()?.get(TENANT_KEY));
  }

  /**
   * Opens the empty context of one HTTP request and goes on with `next` in it: a Fastify hook
   * (`(request, reply, done) => open(done)`) that runs right before the handler, after the body
   * was read, so no stream event of the socket stands between the context and the handler.
   */
  open(next: () => void): void {
    this.storage.run(new Map(), next);
  }

  /** Set once per request by the authentication guard, inside the context `open` started. */
  enter(tenantId: string): void {
    const store = this.storage.getStore();
    if (!store) throw new Error('No request context is open to enter a tenant into');
    store.set(TENANT_KEY, tenantId);
  }

  /** Runs `work` as `tenantId`: how workers and crons act for the tenant a job names. */
  async run<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    return this.storage.run(new Map([[TENANT_KEY, tenantId]]), work);
  }

  /** A value of the current context, such as TenantScope's open transaction. */
  get<T>(key: string): T | undefined {
    return this.storage.getStore()?.get(key) as T | undefined;
  }

  /** Runs `work` in a child context that sees `key` = `value`; siblings running concurrently do not. */
  async with<T>(key: string, value: unknown, work: () => Promise<T>): Promise<T> {
    const store = new Map(this.storage.getStore());
    store.set(key, value);
    return this.storage.run(store, work);
  }
}
