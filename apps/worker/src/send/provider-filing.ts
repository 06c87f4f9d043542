import type { AppConfig } from '@app/config';
import { Inject } from '@nestjs/common';

/** Which submission servers file the Sent copy themselves; injectable so operators (and benchmarks) can extend it. */
export interface SentCopyPolicy {
  selfFilingSmtpHosts: readonly string[];
}

export const SENT_COPY_POLICY = Symbol('SentCopyPolicy');
export const InjectSentCopyPolicy = (): ParameterDecorator => Inject(SENT_COPY_POLICY);

/**
 * Submission servers that file a copy of every message in the account's Sent folder themselves
 * (Gmail's SMTP does; so do Outlook.com/Office 365 and Yahoo). Appending our own copy there
 * would show the message twice.
 */
export const DEFAULT_SENT_COPY_POLICY: SentCopyPolicy = {
  selfFilingSmtpHosts: [
    'smtp.gmail.com',
    'smtp.googlemail.com',
    'smtp-relay.gmail.com',
    'smtp.office365.com',
    'smtp-mail.outlook.com',
    'smtp.mail.yahoo.com',
  ],
};

export function providerFilesSentCopy(policy: SentCopyPolicy, smtpHost: string): boolean {
  return policy.selfFilingSmtpHosts.includes(smtpHost.trim().toLowerCase().replace(/\.$/, ''));
}

/** The default hosts plus the submission server of every configured provider that files its own Sent copy. */
export function sentCopyPolicyOf(config: AppConfig): SentCopyPolicy {
  const configured = [...config.oauth.providers.values()]
    .filter((provider) => provider.filesSentCopy)
    .map((provider) => provider.smtp.host.toLowerCase());
  return { selfFilingSmtpHosts: [...new Set([...DEFAULT_SENT_COPY_POLICY.selfFilingSmtpHosts, ...configured])] };
}
