import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { JwtVerifyOptions } from '@nestjs/jwt';

type Algorithm = NonNullable<JwtVerifyOptions['algorithms']>[number];

/** The claims the service reads; anything else in a token is ignored. */
export interface AccessTokenClaims {
  sub?: string;
  tenant?: string;
}

export class InvalidTokenError extends Error {}

/**
 * Verifies bearer tokens: HS256 against JWT_SECRET and, when JWT_PUBLIC_KEY is set, RS256 tokens
 * from an identity provider. The algorithm list is explicit, so `alg: none` and HS256 tokens
 * signed with the public key as secret are refused; exp and nbf are checked by the library.
 */
@Injectable()
export class TokenVerifier {
  private readonly jwt = new JwtService();

  constructor(private readonly config: AppConfig) {}

  async verify(token: string): Promise<AccessTokenClaims> {
    const decoded = this.jwt.decode<{ header?: { alg?: string } } | null>(token, { complete: true });
    const algorithm = decoded?.header?.alg;
    const key = this.keyFor(algorithm);
    if (!key || !algorithm) throw new InvalidTokenError('token is malformed or uses an unsupported algorithm');
    try {
      const claims = await this.jwt.verifyAsync<AccessTokenClaims & object>(token, {
        ...(algorithm === 'RS256' ? { publicKey: key } : { secret: key }),
        algorithms: [algorithm as Algorithm],
      });
      return claims;
    } catch (error: unknown) {
      throw new InvalidTokenError(error instanceof Error ? error.message : 'token is invalid');
    }
  }

  private keyFor(algorithm: string | undefined): string | null {
    if (algorithm === 'HS256') return this.config.auth.jwtSecret;
    if (algorithm === 'RS256') return this.config.auth.jwtPublicKey;
    return null;
  }
}
