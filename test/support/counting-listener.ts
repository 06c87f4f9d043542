import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

export interface CountingListener {
  server: Server;
  port: number;
  /** How many connections it has accepted so far. */
  connections(): number;
}

/**
 * A loopback port of the test's own that counts who connects, to show that a connection the
 * outbound policy refuses is never attempted; `answer` decides what a caller gets (nothing: a
 * server that never greets). `host` may be another loopback address than the one tests allow.
 */
export async function countingListener(
  answer: (socket: Socket) => void = () => undefined,
  host = '127.0.0.1',
): Promise<CountingListener> {
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    answer(socket);
  });
  server.listen(0, host);
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, connections: () => connections };
}
