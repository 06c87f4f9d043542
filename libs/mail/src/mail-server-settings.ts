import { MailServerUnreachableError, OutboundRefusedError } from './errors.js';
import type { OutboundPolicy, OutboundTarget } from './egress/outbound-policy.js';

export type ConnectionSecurity = 'tls' | 'starttls' | 'none';

export interface MailServerEndpoint {
  host: string;
  port: number;
  security: ConnectionSecurity;
  username: string;
  /** Per-account opt-in for servers with self-signed certificates; verification stays on otherwise. */
  allowSelfSignedCertificates: boolean;
}

/**
 * Where and how to log in to one IMAP or SMTP server of an account: with the decrypted password,
 * or with an OAuth2 access token over SASL OAUTHBEARER (RFC 7628) or XOAUTH2.
 */
export type MailServerSettings = PasswordServerSettings | TokenServerSettings;
export type PasswordServerSettings = MailServerEndpoint & { password: string; accessToken?: undefined };
export type TokenServerSettings = MailServerEndpoint & { accessToken: string; password?: undefined };

/**
 * True when the error carries the server's own answer (an IMAP NO/BAD, an SMTP reply code), as
 * opposed to a socket, timeout or TLS failure on the way to it.
 */
export function isServerAnswer(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as {
    authenticationFailed?: unknown;
    responseStatus?: unknown;
    responseText?: unknown;
    responseCode?: unknown;
  };
  return (
    candidate.authenticationFailed === true ||
    typeof candidate.responseCode === 'number' ||
    typeof candidate.responseStatus === 'string' ||
    (typeof candidate.responseText === 'string' && candidate.responseText.trim() !== '')
  );
}

/**
 * The address the login test may connect to. A refusal stays an OutboundRefusedError; a name that
 * does not resolve is reported like a server that does not answer.
 */
export async function resolveLoginTarget(
  policy: OutboundPolicy,
  protocol: 'IMAP' | 'SMTP',
  settings: MailServerSettings,
): Promise<OutboundTarget> {
  try {
    return await policy.resolve(settings.host, settings.port);
  } catch (error: unknown) {
    if (error instanceof OutboundRefusedError) throw error;
    throw new MailServerUnreachableError(protocol, settings.host, settings.port, serverReason(error));
  }
}

/** The most specific text a server or socket gave for a failure, without stack or credentials. */
export function serverReason(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const candidate = error as { responseText?: unknown; response?: unknown; code?: unknown; message?: unknown };
  for (const text of [candidate.responseText, candidate.response, candidate.message]) {
    if (typeof text === 'string' && text.trim() !== '') return text.trim();
  }
  return typeof candidate.code === 'string' ? candidate.code : 'unknown error';
}
