import { execFile } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { freePort } from './app-process.js';
import { PROJECT_ROOT } from './project-root.js';

const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';
/** The apps connect as this role in the private cluster, as they do in the shared one (row-level security applies). */
const APP_ROLE = 'email_service_fault_app';
const DATABASE = 'mail_fault';

/**
 * A PostgreSQL 15 cluster of a test's own (initdb + pg_ctl on a free loopback port under a temp
 * folder), for faults the shared server must never see: restarted, stopped for a while, started
 * again. initdb refuses to run as root, so the cluster belongs to the postgres user. Trust
 * authentication and no fsync: it lives for one test.
 */
export class PrivatePostgres {
  private constructor(
    readonly port: number,
    private readonly directory: string,
  ) {}

  static async start(): Promise<PrivatePostgres> {
    const directory = await mkdtemp(join(tmpdir(), 'private-postgres-'));
    const postgresUser = await run('id', ['-u', 'postgres']);
    const postgresGroup = await run('id', ['-g', 'postgres']);
    await chown(directory, Number(postgresUser.stdout.trim()), Number(postgresGroup.stdout.trim()));
    const cluster = new PrivatePostgres(await freePort(), directory);
    await cluster.asPostgres(`${BIN}/initdb`, [
      '-D',
      cluster.dataDirectory,
      '-A',
      'trust',
      '-U',
      'postgres',
      '--no-sync',
      '-E',
      'UTF8',
      '--locale',
      'C',
    ]);
    await cluster.pgCtl('start');
    return cluster;
  }

  /** Owner connection, for the migrate step and for counting rows past row-level security. */
  get migrationUrl(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${DATABASE}`;
  }

  /** The apps' connection. */
  get appUrl(): string {
    return `postgresql://${APP_ROLE}:${APP_ROLE}@127.0.0.1:${this.port}/${DATABASE}`;
  }

  /** Creates and migrates the database with the built migrate step, as a deployment does. */
  async migrate(): Promise<void> {
    await run(process.execPath, [join(PROJECT_ROOT, 'dist', 'libs', 'database', 'src', 'cli', 'migrate.js')], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, DATABASE_URL: this.appUrl, DATABASE_MIGRATION_URL: this.migrationUrl },
    });
  }

  /** `pg_ctl restart -m fast`: every session is terminated, the server is back as soon as it accepts connections. */
  async restart(): Promise<void> {
    await this.pgCtl('restart', ['-m', 'fast']);
  }

  /** `pg_ctl stop -m fast`: the port refuses connections until `resume`. */
  async stop(): Promise<void> {
    await this.pgCtl('stop', ['-m', 'fast']);
  }

  async resume(): Promise<void> {
    await this.pgCtl('start');
  }

  async destroy(): Promise<void> {
    await this.pgCtl('stop', ['-m', 'immediate']).catch(() => undefined);
    await rm(this.directory, { recursive: true, force: true });
  }

  private get dataDirectory(): string {
    return join(this.directory, 'data');
  }

  private async pgCtl(action: string, extra: string[] = []): Promise<void> {
    const options = `-p ${this.port} -k ${this.directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
    // -l keeps the server's output in a file: a daemon holding our pipes would keep execFile waiting.
    await this.asPostgres(`${BIN}/pg_ctl`, [
      '-D',
      this.dataDirectory,
      '-l',
      join(this.directory, 'server.log'),
      '-o',
      options,
      '-w',
      '-t',
      '60',
      ...extra,
      action,
    ]);
  }

  private async asPostgres(command: string, args: string[]): Promise<void> {
    await run('runuser', ['-u', 'postgres', '--', command, ...args], { cwd: this.directory, timeout: 120_000 });
  }
}
