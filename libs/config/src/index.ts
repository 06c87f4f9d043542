export { AppConfig } from './app-config.js';
export type {
  AuthConfig,
  EncryptionConfig,
  FeatureFlags,
  HttpConfig,
  LogConfig,
  MailConfig,
  OAuthConfig,
  QueueDashboardConfig,
  RateLimitConfig,
  RedisConfig,
  SchedulerConfig,
  TenancyConfig,
  WebhookConfig,
  WatchConfig,
  WorkerConfig,
} from './app-config.js';
export { ConfigModule } from './config.module.js';
export { normalizeHostName } from './outbound-rules.js';
export type { OutboundConfig, OutboundHostRule, OutboundPolicyMode, PortRange } from './outbound-rules.js';
export { EnvironmentVariables, LEGACY_ALIASES } from './environment.js';
export { ConfigValidationError, loadConfig, loadConfigOrExit } from './load-config.js';
export { PROVIDER_PRESETS } from './mail-providers.js';
export type { MailProvider, ProviderOAuth, ProviderServer } from './mail-providers.js';
