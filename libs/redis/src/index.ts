export { InjectRedis, REDIS_CLIENT, RedisModule } from './redis.module.js';
