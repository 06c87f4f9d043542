import { OUTBOUND_REFUSED_CODE } from '../errors.js';
import { serverReason } from '../mail-server-settings.js';

export type SmtpFailureKind = 'permanent' | 'transient';

export interface SmtpFailure {
  kind: SmtpFailureKind;
  /** The server's reply (code and text) when there was one, else the socket or library error. */
  reason: string;
  responseCode: number | null;
}

/**
 * Errors without an SMTP reply that retrying the same message cannot fix; a server the outbound
 * policy refuses stays refused until the account or the service's configuration changes.
 */
const PERMANENT_LOCAL_CODES = new Set([
  'ECONFIG',
  'EENVELOPE',
  'EMAXRECIPIENTS',
  'ENOAUTH',
  'EMESSAGE',
  OUTBOUND_REFUSED_CODE,
]);

interface NodemailerLikeError {
  code?: unknown;
  responseCode?: unknown;
  rejectedErrors?: unknown;
}

function replyOf(error: NodemailerLikeError): { code: number; reason: string } | null {
  // Every recipient refused: the reply that matters is the first RCPT TO answer.
  if (Array.isArray(error.rejectedErrors)) {
    for (const rejected of error.rejectedErrors as NodemailerLikeError[]) {
      if (typeof rejected.responseCode === 'number')
        return { code: rejected.responseCode, reason: serverReason(rejected) };
    }
  }
  if (typeof error.responseCode === 'number') return { code: error.responseCode, reason: serverReason(error) };
  return null;
}

/**
 * RFC 5321 §4.2.1: 4yz replies are transient, 5yz permanent — except 503 (bad sequence of
 * commands), which says the session got out of step, not that the message was refused, so a
 * fresh connection may well succeed. No reply at all (connection refused, reset, timeout) is
 * transient: the server never judged the message.
 */
export function classifySmtpFailure(error: unknown): SmtpFailure {
  const candidate = (typeof error === 'object' && error !== null ? error : {}) as NodemailerLikeError;
  const reply = replyOf(candidate);
  if (reply !== null) {
    const permanent = reply.code >= 500 && reply.code !== 503;
    return { kind: permanent ? 'permanent' : 'transient', reason: reply.reason, responseCode: reply.code };
  }
  const code = typeof candidate.code === 'string' ? candidate.code : '';
  return {
    kind: PERMANENT_LOCAL_CODES.has(code) ? 'permanent' : 'transient',
    reason: serverReason(error),
    responseCode: null,
  };
}
