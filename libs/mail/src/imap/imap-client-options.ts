import type { ImapFlowOptions } from 'imapflow';

import type { MailServerSettings } from '../mail-server-settings.js';

/** imapflow reads `doSTARTTLS` but its type declarations do not list it. */
export type ImapClientOptions = ImapFlowOptions & { doSTARTTLS?: boolean };

/**
 * The one translation of account settings into imapflow options. STARTTLS is required (not
 * opportunistic) when configured, so a stripped capability cannot downgrade to cleartext.
 */
export function imapClientOptions(settings: MailServerSettings, timeoutMs: number): ImapClientOptions {
  return {
    host: settings.host,
    port: settings.port,
    secure: settings.security === 'tls',
    doSTARTTLS: settings.security === 'starttls',
    auth: { user: settings.username, pass: settings.password },
    tls: { rejectUnauthorized: !settings.allowSelfSignedCertificates, servername: settings.host },
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: Math.max(timeoutMs, 60_000),
  };
}
