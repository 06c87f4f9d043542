import { createPublicKey, createSecretKey } from 'node:crypto';

import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { JwtVerifyOptions } from '@nestjs/jwt';

import { InvalidTokenError } from './errors.js';

type Algorithm = NonNullable<JwtVerifyOptions['algorithms']>[number];

/** The claims the service reads; anything else in a token is ignored. */
export interface AccessTokenClaims {
  sub?: string;
  tenant?: string;
  /** Expiry in seconds since the epoch; a long-lived response (an event stream) ends there. */
  exp?: number;
}

/** How long a verified token is trusted without checking its signature again (never past its `exp`). */
const VERIFIED_TOKEN_TTL_MS = 60_000;
/** Bound on remembered tokens; only tokens that verified get in, so callers cannot fill it with junk. */
const VERIFIED_TOKEN_CAPACITY = 10_000;

interface VerifiedToken {
  claims: Readonly<AccessTokenClaims>;
  trustedUntil: number;
}

/**
 * Verifies bearer tokens: HS256 against JWT_SECRET and, when JWT_PUBLIC_KEY is set, RS256 tokens
 * from an identity provider. The algorithm list is explicit, so `alg: none` and HS256 tokens
 * signed with the public key as secret are refused; exp and nbf are checked by the library.
 *
 * A client sends the same token with every request, and checking its signature and parsing it
 * is a large share of a small request's CPU. So a token that verified is remembered, by its exact
 * text, for a minute and never past its expiry: the keys do not change while the process runs and
 * a JWT cannot be revoked, so checking the same text again could only give the same answer.
 */
@Injectable()
export class TokenVerifier {
  private readonly decoder = new JwtService();
  /** One verifier per accepted algorithm, holding a key object built once: given a string, jsonwebtoken re-parses it on every request. */
  private readonly verifiers: ReadonlyMap<Algorithm, JwtService>;
  /** In insertion order, so the first entry is the oldest. */
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(config: AppConfig) {
    const verifiers = new Map<Algorithm, JwtService>();
    if (config.auth.jwtSecret)
      verifiers.set('HS256', new JwtService({ secret: createSecretKey(Buffer.from(config.auth.jwtSecret)) }));
    if (config.auth.jwtPublicKey)
      verifiers.set('RS256', new JwtService({ publicKey: createPublicKey(config.auth.jwtPublicKey) }));
    this.verifiers = verifiers;
  }

  async verify(token: string): Promise<Readonly<AccessTokenClaims>> {
    const now = Date.now();
    const remembered = this.verified.get(token);
    if (remembered && remembered.trustedUntil > now) return remembered.claims;
    if (remembered) this.verified.delete(token);

    const claims = Object.freeze(await this.verifySignature(token));
    this.remember(token, claims, now);
    return claims;
  }

  private async verifySignature(token: string): Promise<AccessTokenClaims> {
    const decoded = this.decoder.decode<{ header?: { alg?: string } } | null>(token, { complete: true });
    const algorithm = decoded?.header?.alg as Algorithm | undefined;
    const verifier = algorithm ? this.verifiers.get(algorithm) : undefined;
    if (!verifier || !algorithm) throw new InvalidTokenError('token is malformed or uses an unsupported algorithm');
    try {
      return await verifier.verifyAsync<AccessTokenClaims>(token, { algorithms: [algorithm] });
    } catch (error: unknown) {
      throw new InvalidTokenError(error instanceof Error ? error.message : 'token is invalid');
    }
  }

  private remember(token: string, claims: Readonly<AccessTokenClaims>, now: number): void {
    // jsonwebtoken accepts a token while the current second is below `exp`, that is before exp * 1000 ms.
    const trustedUntil = Math.min(
      now + VERIFIED_TOKEN_TTL_MS,
      typeof claims.exp === 'number' ? claims.exp * 1000 : Infinity,
    );
    if (this.verified.size >= VERIFIED_TOKEN_CAPACITY) {
      const oldest = this.verified.keys().next();
      if (!oldest.done) this.verified.delete(oldest.value);
    }
    this.verified.set(token, { claims, trustedUntil });
  }
}
