import { createPublicKey, createSecretKey } from 'node:crypto';

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
  private readonly decoder = new JwtService();
  /** One verifier per accepted algorithm, holding a key object built once: given a string, jsonwebtoken re-parses it on every request. */
  private readonly verifiers: ReadonlyMap<Algorithm, JwtService>;

  constructor(config: AppConfig) {
    const verifiers = new Map<Algorithm, JwtService>();
    if (config.auth.jwtSecret) verifiers.set('HS256', new JwtService({ secret: createSecretKey(Buffer.from(config.auth.jwtSecret)) }));
    if (config.auth.jwtPublicKey) verifiers.set('RS256', new JwtService({ publicKey: createPublicKey(config.auth.jwtPublicKey) }));
    this.verifiers = verifiers;
  }

  async verify(token: string): Promise<AccessTokenClaims> {
    const decoded = this.decoder.decode<{ header?: { alg?: string } } | null>(token, { complete: true });
    const algorithm = decoded?.header?.alg as Algorithm | undefined;
    const verifier = algorithm ? this.verifiers.get(algorithm) : undefined;
    if (!verifier || !algorithm) throw new InvalidTokenError('token is malformed or uses an unsupported algorithm');
    try {
      return await verifier.verifyAsync<AccessTokenClaims & object>(token, { algorithms: [algorithm] });
    } catch (error: unknown) {
      throw new InvalidTokenError(error instanceof Error ? error.message : 'token is invalid');
    }
  }
}
