import { ApiProcess } from '../../support/api-process.js';
import { BackgroundAppProcess } from '../../support/background-app-process.js';
import { PrivateRedis } from '../../support/private-redis.js';

/**
 * The API and a worker of the built tree, sharing a Redis of their own (cache and queues), so a
 * fault case neither sees nor disturbs another file's jobs. `env` comes on top of that.
 */
export class FaultApps {
  private constructor(
    readonly redis: PrivateRedis,
    readonly api: ApiProcess,
    readonly worker: BackgroundAppProcess,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<FaultApps> {
    const redis = await PrivateRedis.start();
    const appEnv = { REDIS_URL: redis.url, QUEUE_REDIS_URL: redis.url, ...env };
    const started: { api?: ApiProcess } = {};
    try {
      started.api = await ApiProcess.start(appEnv);
      return new FaultApps(redis, started.api, await BackgroundAppProcess.start('worker', appEnv));
    } catch (error: unknown) {
      await started.api?.stop();
      await redis.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.worker.stop();
    await this.api.stop();
    await this.redis.stop();
  }
}
