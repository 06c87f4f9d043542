import type { ConnectionSecurity } from '@app/database';

import type { ServerSettingsDto } from './dto/server-settings.dto.js';

export interface ResolvedServerSettings {
  host: string;
  port: number;
  security: ConnectionSecurity;
  username: string;
}

const DEFAULT_PORTS: Record<'imap' | 'smtp', Record<ConnectionSecurity, number>> = {
  imap: { tls: 993, starttls: 143, none: 143 },
  smtp: { tls: 465, starttls: 587, none: 25 },
};

/**
 * Fills what the client left out the way mail clients autoconfigure: imap./smtp. + the address
 * domain, implicit TLS, the registered port for the security mode, the address as user name.
 */
export function resolveServerSettings(
  protocol: 'imap' | 'smtp',
  email: string,
  given: ServerSettingsDto | undefined,
  current?: ResolvedServerSettings,
): ResolvedServerSettings {
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
  const security = given?.security ?? current?.security ?? 'tls';
  const securityChanged = given?.security !== undefined && given.security !== current?.security;
  return {
    host: given?.host ?? current?.host ?? `${protocol}.${domain}`,
    port: given?.port ?? (securityChanged || !current ? DEFAULT_PORTS[protocol][security] : current.port),
    security,
    username: given?.username ?? current?.username ?? email,
  };
}
