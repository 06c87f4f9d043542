import { readdirSync, readFileSync } from 'node:fs';

import { Redis } from 'ioredis';

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** utime + stime of one /proc stat file in seconds, or null once the process or thread is gone. */
export function cpuSecondsOf(statFile: string): number | null {
  try {
    const stat = readFileSync(statFile, 'utf8');
    // The command name may hold spaces and parentheses: the fields after it are counted from its end.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** The local process listening for `url`'s Redis, when it runs on this machine; null otherwise. */
export async function localRedisPid(url: string): Promise<number | null> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const pid = Number(/^process_id:(\d+)/m.exec(await client.info('server'))?.[1]);
    // A remote server's pid means nothing here; a local one runs a redis-server command.
    return pid > 0 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis') ? pid : null;
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}

function backendPids(databaseName: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (command.startsWith('postgres: ') && command.includes(` ${databaseName} `)) pids.push(Number(entry));
    } catch {
      // exited while listed
    }
  }
  return pids;
}

export interface CpuSeconds {
  /** The whole bench process: main thread, parser threads, V8's GC helpers and libuv's pool. */
  node: number;
  mainThread: number;
  /** PostgreSQL backends serving the bench database. */
  postgres: number;
}

/**
 * CPU time spent while a round runs, which the shared machine's load does not inflate the way it
 * does wall-clock time. Backends are found by their process title; one that exits between two
 * samples loses at most one interval of its time.
 */
export class CpuMeter {
  private readonly startNode = process.cpuUsage();
  private readonly startMain = cpuSecondsOf(`/proc/self/task/${process.pid}/stat`) ?? 0;
  private readonly startBackends = new Map<number, number>();
  private readonly lastBackends = new Map<number, number>();
  private samples = 0;

  constructor(private readonly databaseName: string) {
    for (const pid of backendPids(databaseName)) {
      const seconds = cpuSecondsOf(`/proc/${pid}/stat`);
      if (seconds !== null) this.startBackends.set(pid, seconds);
    }
  }

  /** Reads the known backends; new ones are looked for every fourth call, as listing them costs more. */
  sample(): void {
    const listed = this.samples % 4 === 0 ? backendPids(this.databaseName) : [];
    this.samples += 1;
    for (const pid of new Set([...listed, ...this.lastBackends.keys(), ...this.startBackends.keys()])) {
      const seconds = cpuSecondsOf(`/proc/${pid}/stat`);
      if (seconds !== null) this.lastBackends.set(pid, seconds);
    }
  }

  read(): CpuSeconds {
    this.samples = 0;
    this.sample();
    const node = process.cpuUsage(this.startNode);
    let postgres = 0;
    for (const [pid, seconds] of this.lastBackends) postgres += seconds - (this.startBackends.get(pid) ?? 0);
    return {
      node: (node.user + node.system) / 1e6,
      mainThread: (cpuSecondsOf(`/proc/self/task/${process.pid}/stat`) ?? 0) - this.startMain,
      postgres,
    };
  }
}
