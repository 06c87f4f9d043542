import { randomUUID } from 'node:crypto';

import type { AccountRepository, NewSendRecord } from '@app/database';

type NewAccount = Parameters<AccountRepository['create']>[0];

/**
 * An account for tests that never connect to its servers (repositories, crons): loopback port 1,
 * which nothing listens on, and a password that is not even encrypted.
 */
export function unreachableAccount(email: string, overrides: Partial<NewAccount> = {}): NewAccount {
  return {
    email,
    displayName: null,
    imapHost: '127.0.0.1',
    imapPort: 1,
    imapSecurity: 'none',
    imapUsername: email,
    smtpHost: '127.0.0.1',
    smtpPort: 1,
    smtpSecurity: 'none',
    smtpUsername: email,
    encryptedPassword: 'x',
    allowSelfSignedCertificates: false,
    ...overrides,
  };
}

/** A send of an empty message from `accountId`, for tests of what happens to its record. */
export function emptySendValues(accountId: string): NewSendRecord {
  return {
    accountId,
    draftId: null,
    messageId: `<${randomUUID()}@example.test>`,
    content: {
      from: { name: '', address: 'a@example.test' },
      to: [],
      cc: [],
      bcc: [],
      replyTo: [],
      subject: 's',
      text: 't',
      html: null,
      inReplyTo: null,
      references: [],
      attachments: [],
    },
  };
}
