import type SMTPTransport from 'nodemailer/lib/smtp-transport';

import type { MailServerSettings } from '../mail-server-settings.js';

/** The one translation of account settings into nodemailer SMTP options. */
export function smtpTransportOptions(settings: MailServerSettings, timeoutMs: number): SMTPTransport.Options {
  return {
    host: settings.host,
    port: settings.port,
    secure: settings.security === 'tls',
    requireTLS: settings.security === 'starttls',
    ignoreTLS: settings.security === 'none',
    auth: { user: settings.username, pass: settings.password },
    tls: { rejectUnauthorized: !settings.allowSelfSignedCertificates, servername: settings.host },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  };
}
