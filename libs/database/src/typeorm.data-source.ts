import { loadConfig } from '@app/config';
import { DataSource } from 'typeorm';

import { migrationDataSourceOptions } from './data-source-options.js';

const config = loadConfig();

/** Entry point of the TypeORM CLI (`npm run migration:run`, `migration:generate`), as the schema owner. */
export default new DataSource(migrationDataSourceOptions(config, 'email_service-migrations'));
