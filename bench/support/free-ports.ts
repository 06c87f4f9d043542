import { createServer } from 'node:net';

/** The first of `count` consecutive loopback ports that are free now, for a private mail stack. */
export async function freePortRange(count: number): Promise<number> {
  const free = async (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = 30_000 + Math.floor(Math.random() * 2_000) * 10;
    if ((await Promise.all(Array.from({ length: count }, (_, offset) => free(base + offset)))).every(Boolean))
      return base;
  }
  throw new Error('no free ports');
}
