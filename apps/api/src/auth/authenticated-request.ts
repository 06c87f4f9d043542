import type { TenantTaggedRequest } from '@app/observability';

/** What JwtAuthGuard learned from the token, for handlers that outlive a plain request. */
export interface AuthenticatedRequest extends TenantTaggedRequest {
  /** When the bearer token expires (ms since the epoch); absent for a token without `exp`. */
  tokenExpiresAt?: number;
  /** The token's `sub` (the user), when it has one. */
  subject?: string;
}
