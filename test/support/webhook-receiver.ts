import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { once } from 'node:events';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  /** The raw body, as a receiver must verify it. */
  body: string;
  /** The status this receiver answered. */
  status: number;
}

/**
 * An HTTP endpoint on 127.0.0.1 that records every request and answers `status` (200 unless a
 * test changes it). `down()` stops listening, so attempts meet a refused connection; `up()`
 * listens on the same port again.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  status = 200;
  private server: Server;

  private constructor(private port: number) {
    this.server = this.createServer();
  }

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(0);
    await receiver.up();
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  /** Requests answered with a 2xx. */
  get accepted(): ReceivedWebhook[] {
    return this.received.filter((request) => request.status >= 200 && request.status < 300);
  }

  async up(): Promise<void> {
    this.server = this.createServer();
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
    const address = this.server.address();
    if (typeof address === 'object' && address) this.port = address.port;
  }

  async down(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private createServer(): Server {
    return createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const status = this.status;
        this.received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), status });
        response.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
      });
    });
  }
}
