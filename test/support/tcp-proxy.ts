import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';

/**
 * A loopback TCP forwarder that a test can cut and restore, to take a dependency (PostgreSQL,
 * Redis, IMAP) away from a running app without touching the shared server itself.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  private listeningPort = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  get port(): number {
    return this.listeningPort;
  }

  async start(port = 0): Promise<this> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const address = server.address();
    this.listeningPort = typeof address === 'object' && address ? address.port : port;
    return this;
  }

  /** Drops every open connection and stops listening, as if the dependency went down. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Stops forwarding on the open connections without closing them: a peer that vanished without a FIN. */
  freeze(): void {
    for (const socket of this.sockets) socket.pause();
  }

  /** Listens again on the same port, as if the dependency came back. */
  async restore(): Promise<void> {
    await this.start(this.listeningPort);
  }

  async stop(): Promise<void> {
    await this.cut();
  }
}
