export type ConnectionSecurity = 'tls' | 'starttls' | 'none';

/** Where and how to log in to one IMAP or SMTP server of an account; the password is already decrypted. */
export interface MailServerSettings {
  host: string;
  port: number;
  security: ConnectionSecurity;
  username: string;
  password: string;
  /** Per-account opt-in for servers with self-signed certificates; verification stays on otherwise. */
  allowSelfSignedCertificates: boolean;
}

export class MailServerLoginError extends Error {
  constructor(
    readonly protocol: 'IMAP' | 'SMTP',
    readonly reason: string,
  ) {
    super(`${protocol} login failed: ${reason}`);
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
