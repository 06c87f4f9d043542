import { dataSourceOptions } from '@app/database';
import { DataSource } from 'typeorm';

import { testConfig } from '../../../test/support/test-config.js';

/**
 * The entities describe the schema the migrations build: the repositories' SQL is written against
 * the entities, and `synchronize` never runs, so a column declared differently in one of them
 * would only show when a statement met the real table.
 */
describe('entities and migrations', () => {
  it('describe the same schema: TypeORM finds nothing to change in the migrated database', async () => {
    const config = testConfig();
    const dataSource = new DataSource({
      ...dataSourceOptions(config, 'email_service-schema-drift-test', config.databaseMigrationUrl),
      migrations: [],
    });
    await dataSource.initialize();
    try {
      const pending = await dataSource.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((query) => query.query)).toEqual([]);
    } finally {
      await dataSource.destroy();
    }
  });
});
