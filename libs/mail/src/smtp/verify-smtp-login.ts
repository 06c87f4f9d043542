import { createTransport } from 'nodemailer';

import { MailServerLoginError, serverReason } from '../mail-server-settings.js';
import type { MailServerSettings } from '../mail-server-settings.js';
import { smtpTransportOptions } from './smtp-transport-options.js';

/** Connects and authenticates without sending; throws MailServerLoginError with the server's reason. */
export async function verifySmtpLogin(settings: MailServerSettings, timeoutMs: number): Promise<void> {
  const transport = createTransport(smtpTransportOptions(settings, timeoutMs));
  try {
    await transport.verify();
  } catch (error: unknown) {
    throw new MailServerLoginError('SMTP', serverReason(error));
  } finally {
    transport.close();
  }
}
