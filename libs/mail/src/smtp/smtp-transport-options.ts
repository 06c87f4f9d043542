import type SMTPTransport from 'nodemailer/lib/smtp-transport';

import type { OutboundTarget } from '../egress/outbound-policy.js';
import type { MailServerSettings } from '../mail-server-settings.js';
import { TOKEN_LOGIN_METHOD, tokenLogin } from './smtp-token-login.js';

/**
 * The one translation of account settings into nodemailer SMTP options. With an IP as `host`
 * nodemailer does no DNS lookup of its own; `servername` is what it hands tls.connect for SNI and
 * the certificate check, on direct TLS and after STARTTLS alike.
 */
export function smtpTransportOptions(
  settings: MailServerSettings,
  target: OutboundTarget,
  timeoutMs: number,
): SMTPTransport.Options {
  const servername = target.servername ?? undefined;
  return {
    host: target.address,
    port: target.port,
    ...(servername ? { servername } : {}),
    secure: settings.security === 'tls',
    requireTLS: settings.security === 'starttls',
    ignoreTLS: settings.security === 'none',
    ...(settings.accessToken !== undefined
      ? {
          auth: { type: 'custom', method: TOKEN_LOGIN_METHOD, user: settings.username, pass: settings.accessToken },
          customAuth: { [TOKEN_LOGIN_METHOD]: tokenLogin },
        }
      : { auth: { user: settings.username, pass: settings.password } }),
    tls: { rejectUnauthorized: !settings.allowSelfSignedCertificates, ...(servername ? { servername } : {}) },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  };
}
