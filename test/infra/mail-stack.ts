/**
 * Typed wrapper around mail-stack.sh: a private Dovecot + Postfix on 127.0.0.1 for
 * integration tests (Jest global setup) and benchmarks. See README.md in this folder.
 */
import { execFile } from 'node:child_process';
import type { ExecFileException } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface MailStack {
  domain: string;
  host: string;
  imapPort: number;
  imapsPort: number;
  pop3Port: number;
  lmtpPort: number;
  /** Second Dovecot on the same mailboxes that does not advertise CONDSTORE/QRESYNC. */
  imapNoCondstorePort: number;
  /** Submission: AUTH required, STARTTLS offered but optional. */
  smtpPort: number;
  /** Port-25 style: no AUTH, accepts mail for `domain` only. */
  smtpMxPort: number;
  stateDir: string;
  dovecotConf: string;
  dovecotBConf: string;
  usersFile: string;
  /** Self-signed certificate used by IMAPS, STARTTLS and Postfix. */
  tlsCert: string;
  /** Mailbox receiving every message addressed outside `domain`. */
  sinkEmail: string;
  sinkPassword: string;
}

export interface StartMailStackOptions {
  stateDir: string;
  /** Eight consecutive ports are used: basePort .. basePort + 7. */
  basePort: number;
  domain?: string;
}

export interface MailUser {
  email: string;
  password: string;
}

const SCRIPT = fileURLToPath(new URL('./mail-stack.sh', import.meta.url));

/** The first start on a bare machine installs Dovecot and Postfix with apt-get. */
const START_TIMEOUT_MS = 10 * 60_000;
const COMMAND_TIMEOUT_MS = 2 * 60_000;

/**
 * Runs mail-stack.sh with piped (never inherited) stdio and resolves with its stdout.
 * The script detaches its daemons from these pipes, so the promise settles as soon as
 * the script exits.
 */
function runScript(
  args: readonly string[],
  timeoutMs: number,
  extraEnv: Readonly<Record<string, string>> = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [SCRIPT, ...args],
      {
        encoding: 'utf8',
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, ...extraEnv },
      },
      (error: ExecFileException | null, stdout: string, stderr: string) => {
        if (error === null) {
          resolve(stdout);
          return;
        }
        const reason =
          error.killed === true
            ? `timed out after ${timeoutMs} ms`
            : `exit code ${String(error.code ?? error.signal ?? 'unknown')}`;
        const output = `${stderr}${stdout}`.trim();
        reject(new Error(`mail-stack.sh ${args[0] ?? ''} failed (${reason})${output ? `:\n${output}` : ''}`));
      },
    );
  });
}

function parseEnvFile(path: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const separator = line.indexOf('=');
    if (separator > 0) {
      values.set(line.slice(0, separator), line.slice(separator + 1));
    }
  }
  return values;
}

/** Reads STATE_DIR/stack.env, written by `mail-stack.sh start`. */
export function readMailStack(stateDir: string): MailStack {
  const path = join(stateDir, 'stack.env');
  const values = parseEnvFile(path);
  const text = (key: string): string => {
    const value = values.get(key);
    if (value === undefined || value === '') {
      throw new Error(`${path}: ${key} is missing`);
    }
    return value;
  };
  const port = (key: string): number => {
    const value = Number(text(key));
    if (!Number.isInteger(value) || value <= 0 || value > 65535) {
      throw new Error(`${path}: ${key} is not a port: ${text(key)}`);
    }
    return value;
  };
  return {
    domain: text('MAIL_DOMAIN'),
    host: text('IMAP_HOST'),
    imapPort: port('IMAP_PORT'),
    imapsPort: port('IMAPS_PORT'),
    pop3Port: port('POP3_PORT'),
    lmtpPort: port('LMTP_PORT'),
    imapNoCondstorePort: port('IMAP_NO_CONDSTORE_PORT'),
    smtpPort: port('SMTP_PORT'),
    smtpMxPort: port('SMTP_MX_PORT'),
    stateDir: text('STATE_DIR'),
    dovecotConf: text('DOVECOT_CONF'),
    dovecotBConf: text('DOVECOT_B_CONF'),
    usersFile: text('USERS_FILE'),
    tlsCert: text('TLS_CERT'),
    sinkEmail: text('SINK_USER'),
    sinkPassword: text('SINK_PASSWORD'),
  };
}

/**
 * Starts (or restarts) the stack for `stateDir`. Existing users and mailboxes in
 * `stateDir` are kept; delete the folder first for a clean slate.
 */
export async function startMailStack(options: StartMailStackOptions): Promise<MailStack> {
  const args = ['start', options.stateDir, String(options.basePort)];
  if (options.domain !== undefined) {
    args.push(options.domain);
  }
  await runScript(args, START_TIMEOUT_MS);
  return readMailStack(options.stateDir);
}

/** Adds a user (or changes its password); it can log in as soon as this resolves. */
export async function addMailUser(stack: MailStack, email: string, password: string): Promise<void> {
  await addMailUsers(stack, [{ email, password }]);
}

/** Adds several users at once (one wait for Dovecot to notice instead of one per user). */
export async function addMailUsers(stack: MailStack, users: readonly MailUser[]): Promise<void> {
  if (users.length === 0) {
    return;
  }
  const args = ['adduser', stack.stateDir];
  for (const user of users) {
    args.push(user.email, user.password);
  }
  await runScript(args, COMMAND_TIMEOUT_MS);
}

/**
 * Writes message files (RFC 5322, CRLF or LF) straight into a user's folder and indexes
 * them; much faster than APPEND or SMTP. `flags` are Maildir flag letters, e.g. 'S' for
 * \Seen, 'F' for \Flagged. Each message's Date: header becomes its INTERNALDATE.
 */
export async function seedMailbox(
  stack: MailStack,
  email: string,
  folder: string,
  files: readonly string[],
  flags = '',
): Promise<void> {
  if (files.length === 0) {
    return;
  }
  await runScript(['seed', stack.stateDir, email, folder, ...files], COMMAND_TIMEOUT_MS, {
    SEED_FLAGS: flags,
  });
}

/** Stops everything started for `stateDir`; resolves also when nothing was running. */
export async function stopMailStack(stack: Pick<MailStack, 'stateDir'>): Promise<void> {
  await runScript(['stop', stack.stateDir], COMMAND_TIMEOUT_MS);
}
