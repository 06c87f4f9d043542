export { provisionAppRole } from './app-role.js';
export { DatabaseModule } from './database.module.js';
export { dataSourceOptions } from './data-source-options.js';
export * from './entities/index.js';
export { AccountRepository, DuplicateAccountError } from './repositories/account.repository.js';
export type { MailAccountChanges, NewMailAccount } from './repositories/account.repository.js';
export { decodeCursor, encodeCursor, InvalidCursorError } from './repositories/keyset-cursor.js';
export type { KeysetPosition, Page } from './repositories/keyset-cursor.js';
export { TenantRepository } from './repositories/tenant.repository.js';
