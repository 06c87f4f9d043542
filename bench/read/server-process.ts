import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** A server started as its own process (and, in cluster mode, its workers), so its CPU time can be read apart from the load generator's. */
export class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(
    entry: string,
    env: Record<string, string>,
    readyPath: string,
    execArgv: string[] = [],
  ): Promise<ServerProcess> {
    const port = await freePort();
    const output: string[] = [];
    const child = spawn(process.execPath, [...execArgv, entry], {
      env: { PATH: process.env.PATH ?? '', ...env, HOST: '127.0.0.1', PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr])
      stream?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const server = new ServerProcess(child, `http://127.0.0.1:${port}`);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}: ${output.join('')}`);
      const ready = await fetch(`${server.url}${readyPath}`).then(
        (response) => response.status < 500,
        () => false,
      );
      if (ready) return server;
      if (Date.now() > deadline) throw new Error(`${entry} did not answer within 60 s: ${output.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** How many processes serve: the one started and its live children (cluster workers). */
  get processCount(): number {
    return this.pids().length;
  }

  /** CPU seconds (user + system) used so far by the process and its live children. */
  cpuSeconds(): number {
    let ticks = 0;
    for (const pid of this.pids()) {
      const fields = statFields(pid);
      if (fields) ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks / CLOCK_TICKS_PER_SECOND;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await once(this.child, 'exit');
    clearTimeout(timer);
  }

  private pids(): number[] {
    const root = this.child.pid;
    if (root === undefined) return [];
    const children = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number)
      .filter((pid) => statFields(pid)?.[1] === String(root));
    return [root, ...children];
  }
}

/** Fields of /proc/PID/stat after the command name (field 3, the state, is index 0); null once the process is gone. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
