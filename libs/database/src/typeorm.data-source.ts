import { loadConfig } from '@app/config';
import { DataSource } from 'typeorm';

import { dataSourceOptions } from './data-source-options.js';

/** Entry point of the TypeORM CLI (`npm run migration:run`, `migration:generate`). */
export default new DataSource(dataSourceOptions(loadConfig(), 'email_service-migrations'));
