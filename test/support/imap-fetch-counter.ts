import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

/** The UIDs of a UID set such as "1:3,7" (RFC 3501 section 9); the sync never sends "*" in a FETCH. */
function uidsOf(set: string): number[] {
  return set.split(',').flatMap((part) => {
    const [from, to = from] = part.split(':').map(Number);
    const [low, high] = [Math.min(from ?? 0, to ?? 0), Math.max(from ?? 0, to ?? 0)];
    return Array.from({ length: high - low + 1 }, (_, index) => low + index);
  });
}

/**
 * A plain-text IMAP forwarder that notes every UID whose full source a client FETCHes
 * (BODY.PEEK[] or BODY[]), from the commands as they cross the wire: what a sync really
 * downloaded, whatever the process doing it (a worker the test kills included).
 */
export class ImapFetchCounter {
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  private fetched: number[] = [];

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  get port(): number {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  async start(): Promise<this> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      let pending = '';
      client.on('data', (chunk: Buffer) => {
        pending += chunk.toString('latin1');
        const lines = pending.split('\r\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          const match = /^\S+ UID FETCH ([\d:,]+) \((.*)\)/i.exec(line);
          if (match?.[1] && /\bBODY(\.PEEK)?\[\]/i.test(match[2] ?? '')) this.fetched.push(...uidsOf(match[1]));
        }
      });
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return this;
  }

  /** The UIDs whose source was fetched since the last call, in order, repeats included. */
  take(): number[] {
    const fetched = this.fetched;
    this.fetched = [];
    return fetched;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
