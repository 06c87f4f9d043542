import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

/** What the proxy does to one connection's server → client stream. */
export type StreamFault =
  | { kind: 'pass' }
  /** Closes both sides once `bytes` bytes have followed the first occurrence of `after` (a server that dies mid-response). */
  | { kind: 'cut'; after: string; bytes: number }
  /** Holds each chunk back `delayMs` (and every `longEvery`-th one `longDelayMs`): a slow server or link. */
  | { kind: 'delay'; delayMs: number; longEvery?: number; longDelayMs?: number };

export interface ProxiedConnection {
  fault: StreamFault;
  /** Server bytes passed on to the client. */
  bytesToClient: number;
  /** True when the proxy closed it on purpose. */
  cut: boolean;
}

/**
 * A loopback TCP proxy that misbehaves on purpose: in front of a real server (Dovecot), it passes
 * traffic through but can close a connection in the middle of a response or slow every chunk
 * down. `decide` picks the fault of each new connection, so a test scripts "the first two
 * connections die mid-FETCH, the rest pass".
 */
export class FaultProxy {
  readonly connections: ProxiedConnection[] = [];
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  private listeningPort = 0;

  constructor(
    private readonly targetPort: number,
    private decide: (index: number) => StreamFault = () => ({ kind: 'pass' }),
  ) {}

  get port(): number {
    return this.listeningPort;
  }

  setFaults(decide: (index: number) => StreamFault): void {
    this.decide = decide;
  }

  async start(): Promise<this> {
    const server = createServer((client) => this.serve(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const address = server.address();
    this.listeningPort = typeof address === 'object' && address ? address.port : 0;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private serve(client: Socket): void {
    const connection: ProxiedConnection = { fault: this.decide(this.connections.length), bytesToClient: 0, cut: false };
    this.connections.push(connection);
    const upstream = connect(this.targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);

    const fault = connection.fault;
    if (fault.kind === 'pass') {
      upstream.on('data', (chunk: Buffer) => (connection.bytesToClient += chunk.length));
      upstream.pipe(client);
    } else if (fault.kind === 'cut') {
      let seen = '';
      let counted = -1;
      upstream.on('data', (chunk: Buffer) => {
        if (counted < 0) {
          // The marker may straddle two chunks.
          seen = (seen + chunk.toString('latin1')).slice(-(fault.after.length + chunk.length));
          const at = seen.indexOf(fault.after);
          if (at >= 0) counted = seen.length - at;
        } else counted += chunk.length;
        if (counted >= fault.bytes) {
          const keep = chunk.length - (counted - fault.bytes);
          client.write(chunk.subarray(0, Math.max(0, keep)));
          connection.bytesToClient += Math.max(0, keep);
          connection.cut = true;
          client.destroy();
          upstream.destroy();
          return;
        }
        connection.bytesToClient += chunk.length;
        client.write(chunk);
      });
    } else {
      // Chunks stay in order: each waits for the one before it.
      let chain = Promise.resolve();
      let chunks = 0;
      upstream.on('data', (chunk: Buffer) => {
        chunks += 1;
        const delay =
          fault.longEvery && chunks % fault.longEvery === 0 ? (fault.longDelayMs ?? fault.delayMs) : fault.delayMs;
        chain = chain.then(async () => {
          await new Promise((resolve) => setTimeout(resolve, delay));
          if (client.destroyed) return;
          connection.bytesToClient += chunk.length;
          client.write(chunk);
        });
      });
    }
  }
}
