import type { ImapFlowOptions } from 'imapflow';

import type { OutboundTarget } from '../egress/outbound-policy.js';
import type { MailServerSettings } from '../mail-server-settings.js';

/** imapflow reads `doSTARTTLS` but its type declarations do not list it. */
export type ImapClientOptions = ImapFlowOptions & { doSTARTTLS?: boolean };

/**
 * The one translation of account settings into imapflow options. STARTTLS is required (not
 * opportunistic) when configured, so a stripped capability cannot downgrade to cleartext.
 * imapflow connects to the address the outbound policy checked and passes `servername` to
 * tls.connect for SNI and for the certificate check (it takes precedence over `host` there), so
 * the certificate is still verified against the name the account was set up with.
 */
export function imapClientOptions(
  settings: MailServerSettings,
  target: OutboundTarget,
  timeoutMs: number,
): ImapClientOptions {
  const servername = target.servername ?? undefined;
  return {
    host: target.address,
    port: target.port,
    ...(servername ? { servername } : {}),
    secure: settings.security === 'tls',
    doSTARTTLS: settings.security === 'starttls',
    // imapflow takes OAUTHBEARER when the server advertises it, XOAUTH2 otherwise.
    auth:
      settings.accessToken !== undefined
        ? { user: settings.username, accessToken: settings.accessToken }
        : { user: settings.username, pass: settings.password },
    tls: { rejectUnauthorized: !settings.allowSelfSignedCertificates, ...(servername ? { servername } : {}) },
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: Math.max(timeoutMs, 60_000),
  };
}
