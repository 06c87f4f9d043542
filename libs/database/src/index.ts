export { DatabaseModule } from './database.module.js';
export { dataSourceOptions } from './data-source-options.js';
export * from './entities/index.js';
