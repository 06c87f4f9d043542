import { createHash, timingSafeEqual } from 'node:crypto';

import type { QueueDashboardConfig } from '@app/config';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Checks an `Authorization: Basic …` header against the operator login. Both parts are compared
 * as fixed-length digests with timingSafeEqual, and both are always compared, so neither the
 * response time nor an early exit tells how much of a guess was right.
 */
export class OperatorCredentials {
  private readonly username: Buffer;
  private readonly password: Buffer;

  constructor(login: QueueDashboardConfig) {
    this.username = digest(login.username);
    this.password = digest(login.password);
  }

  accepts(authorization: string | undefined): boolean {
    const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(authorization?.trim() ?? '');
    if (!match?.[1]) return false;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const separator = decoded.indexOf(':');
    if (separator < 0) return false;
    const usernameMatches = timingSafeEqual(digest(decoded.slice(0, separator)), this.username);
    const passwordMatches = timingSafeEqual(digest(decoded.slice(separator + 1)), this.password);
    return usernameMatches && passwordMatches;
  }
}
