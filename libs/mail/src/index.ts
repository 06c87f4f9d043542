export {
  AccountNotFoundError,
  AccountReauthRequiredError,
  OAuthProviderUnavailableError,
  OAuthTokenEndpointError,
  ImapPoolExhaustedError,
  ImapTimeoutError,
  LoginTestRejectedError,
  MailServerConnectionError,
  MailServerLoginError,
  MailServerUnreachableError,
  MessagePartGoneError,
  OutboundRefusedError,
} from './errors.js';
export type { MailErrorCode } from './errors.js';
export { imapClientOptions } from './imap/imap-client-options.js';
export type { ImapClientOptions } from './imap/imap-client-options.js';
export { verifyImapLogin } from './imap/verify-imap-login.js';
export { serverReason } from './mail-server-settings.js';
export type {
  ConnectionSecurity,
  MailServerEndpoint,
  MailServerSettings,
  PasswordServerSettings,
  TokenServerSettings,
} from './mail-server-settings.js';
export { smtpTransportOptions } from './smtp/smtp-transport-options.js';
export { verifySmtpLogin } from './smtp/verify-smtp-login.js';
export { AccountMailSettings, isLoginRefusal } from './account-mail-settings.js';
export { GrantRefusedError, OAuthTokenEndpoint } from './oauth/oauth-token-endpoint.js';
export type { TokenGrant } from './oauth/oauth-token-endpoint.js';
export type { AccountConnection } from './account-mail-settings.js';
export { MailModule } from './mail.module.js';
export { attachmentsOfStructure } from './imap/body-structure.js';
export type { StructureAttachment } from './imap/body-structure.js';
export { openImapSession, withTimeout } from './imap/imap-session.js';
export { sourceStreamOf } from './imap/source-stream.js';
export type { ImapSession } from './imap/imap-session.js';
export { BOUNCE_CATEGORIES, bounceReportOf } from './mime/parse/bounce-report.js';
export type { BounceCategory, BounceReport, DeliveryAction, RecipientReport } from './mime/parse/bounce-report.js';
export { headerSection, parseHeaderBlock, threadHeaders } from './mime/parse/header-block.js';
export { authenticationResults, listUnsubscribe } from './mime/parse/list-headers.js';
export type { AuthenticationResults, ListUnsubscribe } from './mime/parse/list-headers.js';
export { MimeParserPool } from './mime/parse/mime-parser-pool.js';
export type { SourceStreamOpener } from './mime/parse/mime-parser-pool.js';
export type { ParsedAddress, ParsedAttachment, ParsedMessage, ParseOutcome } from './mime/parse/parsed-message.js';
export { asciiAddress, buildOutgoingMime, messageIdDomain, smtpEnvelope } from './mime/build/outgoing-mime.js';
export { draftSendContent, replyReferences } from './mime/build/send-content.js';
export type { MimeAddress, MimeAttachment, OutgoingMimeInput, SmtpEnvelope } from './mime/build/outgoing-mime.js';
export { classifySmtpFailure } from './smtp/smtp-failure.js';
export type { SmtpFailure, SmtpFailureKind } from './smtp/smtp-failure.js';
export { SmtpStartDeadlineError, SmtpTransportPool } from './smtp/smtp-transport-pool.js';
export type { SmtpAcceptance } from './smtp/smtp-transport-pool.js';
export { ImapConnectionPool } from './imap/imap-connection-pool.js';
export type { ImapLease, ImapPoolOptions, ImapPoolStats } from './imap/imap-connection-pool.js';
export { downloadMessagePart } from './imap/part-download.js';
export type { MessagePartLocation, PartDownload } from './imap/part-download.js';
export { PolicyHttpClient } from './egress/policy-http-client.js';
export type { PolicyHttpAnswer, PolicyPostResult } from './egress/policy-http-client.js';
export { exportMbox } from './imap/mbox-export.js';
export type { MboxFolder } from './imap/mbox-export.js';
export { OutboundPolicy } from './egress/outbound-policy.js';
export type { HostResolver, OutboundTarget, ResolvedAddress } from './egress/outbound-policy.js';
