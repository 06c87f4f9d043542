import { JwtService } from '@nestjs/jwt';

import { TEST_JWT_SECRET } from './test-config.js';

/** `Authorization` header value for a user of `tenant`, signed the way the API expects (HS256). */
export function bearerFor(tenant: string, sub = 'test-user'): string {
  return `Bearer ${new JwtService({ secret: TEST_JWT_SECRET }).sign({ sub, tenant }, { expiresIn: '1h' })}`;
}
