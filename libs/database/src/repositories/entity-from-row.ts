import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';

/**
 * Turns a row returned by hand-written SQL (`... RETURNING *`) into an entity, with the same
 * column-to-property mapping and value conversion TypeORM applies to its own queries. Hot paths
 * use it to read and change a row in one statement instead of an UPDATE followed by a SELECT.
 */
export function entityFromRow<T extends ObjectLiteral>(
  manager: EntityManager,
  target: EntityTarget<T>,
  row: Record<string, unknown>,
): T {
  const metadata = manager.connection.getMetadata(target);
  const entity = metadata.create() as T;
  for (const column of metadata.columns) {
    if (!(column.databaseName in row)) continue;
    column.setEntityValue(entity, manager.connection.driver.prepareHydratedValue(row[column.databaseName], column));
  }
  return entity;
}
