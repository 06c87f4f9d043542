import { rmSync } from 'node:fs';

import { stopMailStack } from '../infra/mail-stack.js';
import { deleteRedisKeys, dropDatabase } from './test-services.js';

/** The last project to finish removes everything the run created. */
export default async function globalTeardown(): Promise<void> {
  const run = globalThis.mailServiceTestRun;
  if (!run) return;
  run.users -= 1;
  if (run.users > 0) return;
  globalThis.mailServiceTestRun = undefined;

  const { TEST_DATABASE_NAME, REDIS_KEY_PREFIX, MAIL_STACK_DIR } = process.env;
  const results = await Promise.allSettled([
    TEST_DATABASE_NAME ? dropDatabase(TEST_DATABASE_NAME) : Promise.resolve(),
    REDIS_KEY_PREFIX ? deleteRedisKeys(REDIS_KEY_PREFIX) : Promise.resolve(0),
    MAIL_STACK_DIR ? stopMailStack({ stateDir: MAIL_STACK_DIR }) : Promise.resolve(),
  ]);
  if (MAIL_STACK_DIR) rmSync(MAIL_STACK_DIR, { recursive: true, force: true });
  const failures = results.filter((result) => result.status === 'rejected');
  if (failures.length > 0) throw new AggregateError(failures.map((failure) => failure.reason), 'test teardown left something behind');
}
