import type { ProviderServer } from '@app/config';
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
 * Fills what the client left out: from the provider's preset when one is named, otherwise the way
 * mail clients autoconfigure — imap./smtp. + the address domain, implicit TLS, the registered
 * port for the security mode. The user name defaults to the address.
 */
export function resolveServerSettings(
  protocol: 'imap' | 'smtp',
  email: string,
  given: ServerSettingsDto | undefined,
  current?: ResolvedServerSettings,
  preset?: ProviderServer,
): ResolvedServerSettings {
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
  // A preset replaces the current server: naming a provider on update moves the account there.
  const base = preset ? { ...preset, username: current?.username } : current;
  const security = given?.security ?? base?.security ?? 'tls';
  const securityChanged = given?.security !== undefined && given.security !== base?.security;
  return {
    host: given?.host ?? base?.host ?? `${protocol}.${domain}`,
    port: given?.port ?? (securityChanged || !base ? DEFAULT_PORTS[protocol][security] : base.port),
    security,
    username: given?.username ?? base?.username ?? email,
  };
}
