import { once } from 'node:events';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

/** One message the server took (DATA answered with 2xx). */
export interface ReceivedMessage {
  from: string;
  recipients: string[];
  /** The message as sent, dot-stuffing removed, CRLF line ends. */
  raw: Buffer;
  messageId: string | null;
}

export interface RecipientDecisionContext {
  /** How many times this recipient was offered in RCPT TO so far, this one included (1-based). */
  attempt: number;
}

/**
 * Decides the reply to `RCPT TO:<address>`: an SMTP reply line such as `250 2.1.5 Ok`,
 * `550 5.1.1 <x>: Recipient address rejected` or `451 4.7.1 Try again later`.
 */
export type RecipientScript = (address: string, context: RecipientDecisionContext) => string;

/** What the server knows of a message when it answers the end of its DATA. */
export interface DataDecisionContext {
  recipients: string[];
  messageId: string | null;
  /** How many times a message with this Message-ID reached the end of DATA so far, this one included (1-based). */
  attempt: number;
}

/**
 * Decides the reply to the end of DATA: `250 ...` takes the message, anything else refuses it
 * (`451 4.3.0 Try again later`, `554 5.7.1 Rejected`) and nothing is recorded as received.
 */
export type DataScript = (context: DataDecisionContext) => string;

const ACCEPT_ALL: RecipientScript = () => '250 2.1.5 Ok';
const ACCEPT_DATA: DataScript = () => '250 2.0.0 Ok';
const END_OF_DATA = Buffer.from('\r\n.\r\n');

/**
 * A minimal SMTP server on node:net for tests and benchmarks (RFC 5321 subset: EHLO/HELO,
 * AUTH PLAIN accepted for anyone, MAIL, RCPT, DATA, RSET, NOOP, QUIT; PIPELINING is not
 * advertised, so clients wait for each reply). Recipient and end-of-DATA replies are scripted,
 * everything taken is recorded; a scripted 421 closes the connection after the reply, as a
 * server shutting down does (RFC 5321 §3.8). Not a mail server: nothing is delivered anywhere.
 */
export class ScriptedSmtpServer {
  readonly received: ReceivedMessage[] = [];
  readonly rcptAttempts = new Map<string, number>();
  /** Every end of DATA the server answered, by Message-ID, with its reply: accepted or not. */
  readonly dataReplies = new Map<string, string[]>();
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private listeningPort = 0;
  private queueId = 0;

  constructor(
    private script: RecipientScript = ACCEPT_ALL,
    private dataScript: DataScript = ACCEPT_DATA,
  ) {}

  get port(): number {
    return this.listeningPort;
  }

  setScript(script: RecipientScript): void {
    this.script = script;
  }

  setDataScript(script: DataScript): void {
    this.dataScript = script;
  }

  /** How many accepted messages carried each Message-ID. */
  countsByMessageId(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const message of this.received) {
      const key = message.messageId ?? '(none)';
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  async start(port = 0): Promise<this> {
    const server = createServer((socket) => this.serve(socket));
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    this.server = server;
    const address = server.address();
    this.listeningPort = typeof address === 'object' && address ? address.port : port;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    let buffer: Buffer = Buffer.alloc(0);
    let inData = false;
    let from = '';
    let recipients: string[] = [];
    const reply = (line: string): void => {
      socket.write(`${line}\r\n`);
      if (line.startsWith('421')) socket.end();
    };
    reply('220 scripted.test ESMTP ready');

    const command = (line: string): void => {
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO') {
        socket.write('250-scripted.test\r\n250-8BITMIME\r\n250-SIZE 52428800\r\n250 AUTH PLAIN\r\n');
      } else if (verb === 'HELO') {
        reply('250 scripted.test');
      } else if (verb === 'AUTH') {
        reply('235 2.7.0 Authentication successful');
      } else if (verb === 'MAIL') {
        from = /<([^>]*)>/.exec(line)?.[1] ?? '';
        recipients = [];
        reply('250 2.1.0 Ok');
      } else if (verb === 'RCPT') {
        const address = /<([^>]*)>/.exec(line)?.[1] ?? '';
        const attempt = (this.rcptAttempts.get(address) ?? 0) + 1;
        this.rcptAttempts.set(address, attempt);
        const answer = this.script(address, { attempt });
        if (answer.startsWith('2')) recipients.push(address);
        reply(answer);
      } else if (verb === 'DATA') {
        if (recipients.length === 0) {
          reply('554 5.5.1 Error: no valid recipients');
          return;
        }
        inData = true;
        reply('354 End data with <CR><LF>.<CR><LF>');
      } else if (verb === 'RSET') {
        from = '';
        recipients = [];
        reply('250 2.0.0 Ok');
      } else if (verb === 'NOOP') {
        reply('250 2.0.0 Ok');
      } else if (verb === 'QUIT') {
        reply('221 2.0.0 Bye');
        socket.end();
      } else {
        reply('502 5.5.2 Error: command not recognized');
      }
    };

    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      for (;;) {
        if (inData) {
          // The terminator may follow the DATA line directly (empty body) or end the last line.
          const atStart = buffer.subarray(0, 3).equals(Buffer.from('.\r\n'));
          const end = atStart ? -2 : buffer.indexOf(END_OF_DATA);
          if (end === -1) return;
          const body = atStart ? Buffer.alloc(0) : buffer.subarray(0, end + 2);
          buffer = buffer.subarray(atStart ? 3 : end + END_OF_DATA.length);
          inData = false;
          const raw = unstuff(body);
          const messageId = messageIdOf(raw);
          const replies = this.dataReplies.get(messageId ?? '(none)') ?? [];
          const answer = this.dataScript({ recipients, messageId, attempt: replies.length + 1 });
          replies.push(answer);
          this.dataReplies.set(messageId ?? '(none)', replies);
          if (answer.startsWith('2')) {
            this.received.push({ from, recipients, raw, messageId });
            this.queueId += 1;
            reply(`${answer}: queued as SCRIPTED${this.queueId}`);
          } else reply(answer);
          recipients = [];
          continue;
        }
        const newline = buffer.indexOf('\r\n');
        if (newline === -1) return;
        const line = buffer.subarray(0, newline).toString('latin1');
        buffer = buffer.subarray(newline + 2);
        command(line);
      }
    });
  }
}

/** RFC 5321 §4.5.2: a leading dot on a line was doubled by the client. */
function unstuff(body: Buffer): Buffer {
  return Buffer.from(body.toString('latin1').replace(/(^|\r\n)\.\./g, '$1.'), 'latin1');
}

function messageIdOf(raw: Buffer): string | null {
  const headerEnd = raw.indexOf('\r\n\r\n');
  const headers = raw.subarray(0, headerEnd === -1 ? raw.length : headerEnd).toString('latin1');
  return /^message-id:\s*(<[^>]+>)/im.exec(headers)?.[1] ?? null;
}
