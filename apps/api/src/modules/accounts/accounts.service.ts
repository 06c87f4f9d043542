import { AppConfig } from '@app/config';
import type { MailProvider } from '@app/config';
import { CredentialCipher } from '@app/crypto';
import { AccountRepository } from '@app/database';
import type { AuthColumns, MailAccount, MailAccountChanges, Page } from '@app/database';
import {
  AccountMailSettings,
  AccountNotFoundError,
  GrantRefusedError,
  LoginTestRejectedError,
  MailServerUnreachableError,
  OAuthProviderUnavailableError,
  OAuthTokenEndpoint,
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
import type { AccountAuthDto } from './dto/account-auth.dto.js';
import type { CreateAccountDto } from './dto/create-account.dto.js';
import type { UpdateAccountDto } from './dto/update-account.dto.js';
import { AccountAuthInvalidError } from './errors.js';

/** What logs in: a password, or an OAuth2 access token. */
type LoginSecret = { password: string } | { accessToken: string };

/** A credential from a request body: the columns that store it and the secret the login test uses. */
interface NewCredential {
  columns: Pick<MailAccount, AuthColumns>;
  /** Null when there is nothing to log in with until the first refresh (login test skipped). */
  login: LoginSecret | null;
}

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
    private readonly mailSettings: AccountMailSettings,
    private readonly tokenEndpoint: OAuthTokenEndpoint,
  ) {}

  /** The account of the current tenant with this address, if there is one. */
  async findIdByEmail(email: string): Promise<string | null> {
    return this.accounts.findIdByEmail(email.trim());
  }

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
    const preset = this.presetOf(dto.provider ?? dto.auth?.provider);
    const imap = resolveServerSettings('imap', email, dto.imap, undefined, preset?.imap);
    const smtp = resolveServerSettings('smtp', email, dto.smtp, undefined, preset?.smtp);
    const allowSelfSigned = dto.allowSelfSignedCertificates ?? false;
    const credential = await this.credentialOf(dto, verify);
    if (!credential) throw new AccountAuthInvalidError('give a password, or auth with type password or oauth2');
    if (verify && credential.login) await this.verifyLogins(imap, smtp, credential.login, allowSelfSigned);
    return this.accounts.create({
      email,
      displayName: dto.displayName ?? null,
      ...columnsOf(imap, smtp),
      ...credential.columns,
      allowSelfSignedCertificates: allowSelfSigned,
    });
  }

  /**
   * New credentials also end `reauth_required`: sync, send and watching resume with them (the
   * failure backoff is cleared so the next periodic sync takes the account).
   */
  async update(id: string, dto: UpdateAccountDto, verify: boolean): Promise<MailAccount> {
    const current = await this.accounts.findByIdWithSecret(id);
    if (!current) throw new AccountNotFoundError(id, `Account ${id} not found`);
    const email = dto.email?.trim() ?? current.email;
    const preset = this.presetOf(dto.provider);
    const imap = resolveServerSettings('imap', email, dto.imap, serverOf(current, 'imap'), preset?.imap);
    const smtp = resolveServerSettings('smtp', email, dto.smtp, serverOf(current, 'smtp'), preset?.smtp);
    const allowSelfSigned = dto.allowSelfSignedCertificates ?? current.allowSelfSignedCertificates;
    const credential = await this.credentialOf(dto, verify);
    const connectionChanged =
      credential !== null ||
      dto.provider !== undefined ||
      dto.imap !== undefined ||
      dto.smtp !== undefined ||
      dto.email !== undefined;
    if (verify && connectionChanged) {
      const login = credential ? credential.login : await this.currentLogin(current);
      if (login) await this.verifyLogins(imap, smtp, login, allowSelfSigned);
    }

    const changes: MailAccountChanges = {
      email,
      ...columnsOf(imap, smtp),
      allowSelfSignedCertificates: allowSelfSigned,
      ...(dto.displayName !== undefined ? { displayName: dto.displayName } : {}),
      ...(dto.active !== undefined ? { active: dto.active } : {}),
      ...(credential ? { ...credential.columns, failureCount: 0, nextSyncAfter: null } : {}),
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
   * The credential a body gives, in `auth` or as the flat `password`; null when it gives none.
   * OAuth2 tokens without a usable access token are refreshed once here when the login is to be
   * tested, so a refresh token the provider refuses is answered like a refused password.
   */
  private async credentialOf(dto: CreateAccountDto | UpdateAccountDto, verify: boolean): Promise<NewCredential | null> {
    if (dto.auth !== undefined && dto.password !== undefined)
      throw new AccountAuthInvalidError('give either password or auth, not both');
    const auth: AccountAuthDto | undefined =
      dto.auth ?? (dto.password !== undefined ? { type: 'password', password: dto.password } : undefined);
    if (!auth) return null;
    const reset = { authState: 'valid' as const, authError: null };
    const tokenFields = [auth.provider, auth.accessToken, auth.refreshToken, auth.expiresAt];
    if (auth.type === 'password' && tokenFields.some((field) => field !== undefined))
      throw new AccountAuthInvalidError('auth of type password takes only password');
    if (auth.type === 'oauth2' && auth.password !== undefined)
      throw new AccountAuthInvalidError('auth of type oauth2 takes tokens, not a password');
    if (auth.type === 'password') {
      return {
        columns: {
          authType: 'password',
          encryptedPassword: this.cipher.encrypt(auth.password ?? ''),
          oauthProvider: null,
          encryptedAccessToken: null,
          encryptedRefreshToken: null,
          tokenExpiresAt: null,
          ...reset,
        },
        login: { password: auth.password ?? '' },
      };
    }
    if (dto.provider !== undefined && auth.provider !== dto.provider)
      throw new AccountAuthInvalidError('provider and auth.provider name different providers');
    const provider = this.oauthProviderOf(auth.provider ?? '');
    let tokens = {
      accessToken: auth.accessToken ?? null,
      refreshToken: auth.refreshToken ?? '',
      expiresAt: auth.expiresAt ? new Date(auth.expiresAt) : null,
    };
    const usable =
      tokens.accessToken !== null && (tokens.expiresAt === null || tokens.expiresAt.getTime() > Date.now());
    if (verify && !usable) {
      try {
        const grant = await this.tokenEndpoint.refresh(provider, tokens.refreshToken);
        tokens = {
          accessToken: grant.accessToken,
          refreshToken: grant.refreshToken ?? tokens.refreshToken,
          expiresAt: grant.expiresAt,
        };
      } catch (error: unknown) {
        if (error instanceof GrantRefusedError)
          throw new LoginTestRejectedError('IMAP', `the provider refused the refresh token (${error.reason})`);
        throw error;
      }
    }
    return {
      columns: {
        authType: 'oauth2',
        encryptedPassword: null,
        oauthProvider: provider.id,
        encryptedAccessToken: tokens.accessToken !== null ? this.cipher.encrypt(tokens.accessToken) : null,
        encryptedRefreshToken: this.cipher.encrypt(tokens.refreshToken),
        tokenExpiresAt: tokens.expiresAt,
        ...reset,
      },
      login: tokens.accessToken !== null ? { accessToken: tokens.accessToken } : null,
    };
  }

  private presetOf(providerId: string | undefined): MailProvider | null {
    if (providerId === undefined) return null;
    const provider = this.config.oauth.providers.get(providerId);
    if (!provider) throw new AccountAuthInvalidError(`unknown provider ${providerId}: see GET /api/providers`);
    return provider;
  }

  private oauthProviderOf(providerId: string): MailProvider {
    const provider = this.presetOf(providerId);
    if (!provider || provider.auth !== 'oauth2')
      throw new OAuthProviderUnavailableError(providerId, 'it takes passwords');
    this.tokenEndpoint.oauthOf(provider);
    return provider;
  }

  /** What the stored account logs in with: its password, or its access token (refreshed when due). */
  private async currentLogin(account: MailAccount): Promise<LoginSecret> {
    const { imap } = await this.mailSettings.connectionOf(account);
    return imap.accessToken !== undefined ? { accessToken: imap.accessToken } : { password: imap.password };
  }

  /**
   * Both servers are checked against the outbound policy before either is contacted; then both
   * logins run at once under one ACCOUNT_VERIFY_TIMEOUT, so the request waits for the slower one
   * only. When both fail, the IMAP failure is the one reported.
   */
  private async verifyLogins(
    imap: ResolvedServerSettings,
    smtp: ResolvedServerSettings,
    login: LoginSecret,
    allowSelfSigned: boolean,
  ): Promise<void> {
    const imapSettings = { ...imap, ...login, allowSelfSignedCertificates: allowSelfSigned };
    const smtpSettings = { ...smtp, ...login, allowSelfSignedCertificates: allowSelfSigned };
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
