import { parseArgs } from 'node:util';

import { loadConfigOrExit } from '@app/config';
import { JwtService } from '@nestjs/jwt';

/**
 * Prints a bearer token for local use and tests, signed with JWT_SECRET:
 * `npm run token -- --tenant acme --sub u1 [--ttl 3600]`. Production tokens come from your
 * identity provider.
 */
function mintToken(): void {
  const config = loadConfigOrExit();
  const { values } = parseArgs({
    options: {
      tenant: { type: 'string' },
      sub: { type: 'string', default: 'local-user' },
      ttl: { type: 'string', default: '3600' },
    },
  });
  if (!config.auth.jwtSecret) {
    process.stderr.write('JWT_SECRET is not set: tokens cannot be signed here\n');
    process.exit(78);
  }
  const ttlSeconds = Number(values.ttl);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    process.stderr.write('--ttl must be a positive number of seconds\n');
    process.exit(64);
  }
  const claims = { sub: values.sub, ...(values.tenant ? { tenant: values.tenant } : {}) };
  process.stdout.write(
    `${new JwtService({ secret: config.auth.jwtSecret }).sign(claims, { algorithm: 'HS256', expiresIn: ttlSeconds })}\n`,
  );
}

mintToken();
