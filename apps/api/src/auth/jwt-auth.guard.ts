import { AppConfig } from '@app/config';
import { TenantContext } from '@app/tenancy';
import { ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';

import type { AuthenticatedRequest } from './authenticated-request.js';
import { InvalidTokenError } from './errors.js';
import { IS_PUBLIC } from './public.decorator.js';
import { TokenVerifier } from './token-verifier.js';

const TENANT_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Global guard: every route needs a valid bearer token unless marked @Public(). It also decides
 * the request's tenant — the token's `tenant` claim; a TENANT_ID_HEADER that disagrees is refused;
 * without a claim the header, then DEFAULT_TENANT_ID — and puts it in the tenant context that
 * scopes every query.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: TokenVerifier,
    private readonly tenantContext: TenantContext,
    private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, [context.getHandler(), context.getClass()]))
      return true;

    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const token = bearerToken(request.headers.authorization);
    if (!token) throw new UnauthorizedException('A bearer token is required');
    const claims = await this.verifier.verify(token);

    const tenantId = this.resolveTenant(claims.tenant, request.headers[this.config.tenancy.headerName.toLowerCase()]);
    this.tenantContext.enter(tenantId);
    const raw = request.raw as AuthenticatedRequest;
    raw.tenantId = tenantId;
    if (typeof claims.exp === 'number') raw.tokenExpiresAt = claims.exp * 1000;
    if (typeof claims.sub === 'string') raw.subject = claims.sub;
    return true;
  }

  private resolveTenant(claim: unknown, header: string | string[] | undefined): string {
    const headerValue = Array.isArray(header) ? header[0] : header;
    if (claim !== undefined && (typeof claim !== 'string' || !TENANT_ID.test(claim))) {
      throw new InvalidTokenError('the tenant claim is malformed');
    }
    if (headerValue !== undefined && !TENANT_ID.test(headerValue)) {
      throw new ForbiddenException(`${this.config.tenancy.headerName} is malformed`);
    }
    if (claim !== undefined && headerValue !== undefined && headerValue !== claim) {
      throw new ForbiddenException(`${this.config.tenancy.headerName} does not match the token's tenant`);
    }
    return claim ?? headerValue ?? this.config.tenancy.defaultTenantId;
  }
}

function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1] ?? null;
}
