import { createTransport } from 'nodemailer';

import type { OutboundPolicy } from '../egress/outbound-policy.js';
import { LoginTestRejectedError, MailServerUnreachableError } from '../errors.js';
import { isServerAnswer, resolveLoginTarget, serverReason } from '../mail-server-settings.js';
import type { MailServerSettings } from '../mail-server-settings.js';
import { smtpTransportOptions } from './smtp-transport-options.js';

/**
 * Connects and authenticates without sending. Rejects with OutboundRefusedError before any
 * connection when the policy refuses the server, LoginTestRejectedError with the server's reply
 * when it answered, and MailServerUnreachableError when it never got that far.
 */
export async function verifySmtpLogin(
  policy: OutboundPolicy,
  settings: MailServerSettings,
  timeoutMs: number,
): Promise<void> {
  const target = await resolveLoginTarget(policy, 'SMTP', settings);
  const transport = createTransport(smtpTransportOptions(settings, target, timeoutMs));
  let timer: NodeJS.Timeout | undefined;
  // nodemailer bounds each phase on its own; one deadline for the whole test.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`SMTP login test timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
  });
  try {
    await Promise.race([transport.verify(), deadline]);
  } catch (error: unknown) {
    if (isServerAnswer(error)) throw new LoginTestRejectedError('SMTP', serverReason(error));
    throw new MailServerUnreachableError('SMTP', settings.host, settings.port, serverReason(error));
  } finally {
    clearTimeout(timer);
    transport.close();
  }
}
