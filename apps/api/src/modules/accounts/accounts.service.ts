import { AppConfig } from '@app/config';
import { CredentialCipher } from '@app/crypto';
import { AccountRepository } from '@app/database';
import type { MailAccount, MailAccountChanges, Page } from '@app/database';
import {
  AccountNotFoundError,
  MailServerUnreachableError,
  OutboundPolicy,
  OutboundRefusedError,
  verifyImapLogin,
  verifySmtpLogin,
} from '@app/mail';
import { JobProducer } from '@app/queue';
import { TenantContext } from '@app/tenancy';
import { Injectable, Logger } from '@nestjs/common';

import { resolveServerSettings } from './account-defaults.js';
import type { ResolvedServerSettings } from './account-defaults.js';
import type { CreateAccountDto } from './dto/create-account.dto.js';
import type { UpdateAccountDto } from './dto/update-account.dto.js';

@Injectable()
export class AccountsService {
  private readonly logger = new Logger(AccountsService.name);

  constructor(
    private readonly accounts: AccountRepository,
    private readonly cipher: CredentialCipher,
    private readonly jobs: JobProducer,
    private readonly tenant: TenantContext,
    private readonly config: AppConfig,
    private readonly outboundPolicy: OutboundPolicy,
  ) {}

  async list(limit: number, cursor?: string): Promise<Page<MailAccount>> {
    return this.accounts.list(limit, cursor);
  }

  async get(id: string): Promise<MailAccount> {
    const account = await this.accounts.findById(id);
    if (!account) throw new AccountNotFoundError(id, `Account ${id} not found`);
    return account;
  }

  async create(dto: CreateAccountDto, verify: boolean): Promise<MailAccount> {
    const email = dto.email.trim();
    const imap = resolveServerSettings('imap', email, dto.imap);
    const smtp = resolveServerSettings('smtp', email, dto.smtp);
    const allowSelfSigned = dto.allowSelfSignedCertificates ?? false;
    if (verify) await this.verifyLogins(imap, smtp, dto.password, allowSelfSigned);
    return this.accounts.create({
      email,
      displayName: dto.displayName ?? null,
      ...columnsOf(imap, smtp),
      encryptedPassword: this.cipher.encrypt(dto.password),
      allowSelfSignedCertificates: allowSelfSigned,
    });
  }

  async update(id: string, dto: UpdateAccountDto, verify: boolean): Promise<MailAccount> {
    const current = await this.accounts.findByIdWithSecret(id);
    if (!current) throw new AccountNotFoundError(id, `Account ${id} not found`);
    const email = dto.email?.trim() ?? current.email;
    const imap = resolveServerSettings('imap', email, dto.imap, serverOf(current, 'imap'));
    const smtp = resolveServerSettings('smtp', email, dto.smtp, serverOf(current, 'smtp'));
    const allowSelfSigned = dto.allowSelfSignedCertificates ?? current.allowSelfSignedCertificates;
    const password = dto.password ?? this.cipher.decrypt(current.encryptedPassword);
    const connectionChanged =
      dto.password !== undefined || dto.imap !== undefined || dto.smtp !== undefined || dto.email !== undefined;
    if (verify && connectionChanged) await this.verifyLogins(imap, smtp, password, allowSelfSigned);

    const changes: MailAccountChanges = {
      email,
      ...columnsOf(imap, smtp),
      allowSelfSignedCertificates: allowSelfSigned,
      ...(dto.displayName !== undefined ? { displayName: dto.displayName } : {}),
      ...(dto.active !== undefined ? { active: dto.active } : {}),
      ...(dto.password !== undefined ? { encryptedPassword: this.cipher.encrypt(dto.password) } : {}),
    };
    const updated = await this.accounts.update(id, changes);
    if (!updated) throw new AccountNotFoundError(id, `Account ${id} not found`);
    return updated;
  }

  /** Removes the account with everything synced for it, and its jobs still waiting in the queues. */
  async delete(id: string): Promise<void> {
    const deleted = await this.accounts.delete(id);
    if (!deleted) throw new AccountNotFoundError(id, `Account ${id} not found`);
    await this.jobs.removePendingJobsOfAccount(this.tenant.tenantId, id);
  }

  /**
   * Both servers are checked against the outbound policy before either is contacted; then both
   * logins run at once under one ACCOUNT_VERIFY_TIMEOUT, so the request waits for the slower one
   * only. When both fail, the IMAP failure is the one reported.
   */
  private async verifyLogins(
    imap: ResolvedServerSettings,
    smtp: ResolvedServerSettings,
    password: string,
    allowSelfSigned: boolean,
  ): Promise<void> {
    const imapSettings = { ...imap, password, allowSelfSignedCertificates: allowSelfSigned };
    const smtpSettings = { ...smtp, password, allowSelfSignedCertificates: allowSelfSigned };
    await this.firstFailure(
      [this.outboundPolicy.resolve(imap.host, imap.port), this.outboundPolicy.resolve(smtp.host, smtp.port)],
      (error) => error instanceof OutboundRefusedError,
    );
    const timeoutMs = this.config.mail.accountVerifyTimeoutMs;
    await this.firstFailure(
      [
        verifyImapLogin(this.outboundPolicy, imapSettings, timeoutMs),
        verifySmtpLogin(this.outboundPolicy, smtpSettings, timeoutMs),
      ],
      () => true,
    );
  }

  /** Waits for every attempt, then throws the first failure that `counts`; what an unreachable server's socket said goes to the log only. */
  private async firstFailure(attempts: Promise<unknown>[], counts: (error: unknown) => boolean): Promise<void> {
    const results = await Promise.allSettled(attempts);
    for (const result of results) {
      if (result.status !== 'rejected' || !counts(result.reason)) continue;
      const error: unknown = result.reason;
      if (error instanceof MailServerUnreachableError) {
        this.logger.warn(
          { protocol: error.protocol, host: error.host, port: error.port, reason: error.detail },
          'Login test could not reach the mail server',
        );
      }
      throw error;
    }
  }
}

function columnsOf(
  imap: ResolvedServerSettings,
  smtp: ResolvedServerSettings,
): Pick<
  MailAccount,
  'imapHost' | 'imapPort' | 'imapSecurity' | 'imapUsername' | 'smtpHost' | 'smtpPort' | 'smtpSecurity' | 'smtpUsername'
> {
  return {
    imapHost: imap.host,
    imapPort: imap.port,
    imapSecurity: imap.security,
    imapUsername: imap.username,
    smtpHost: smtp.host,
    smtpPort: smtp.port,
    smtpSecurity: smtp.security,
    smtpUsername: smtp.username,
  };
}

function serverOf(account: MailAccount, protocol: 'imap' | 'smtp'): ResolvedServerSettings {
  return protocol === 'imap'
    ? { host: account.imapHost, port: account.imapPort, security: account.imapSecurity, username: account.imapUsername }
    : {
        host: account.smtpHost,
        port: account.smtpPort,
        security: account.smtpSecurity,
        username: account.smtpUsername,
      };
}
