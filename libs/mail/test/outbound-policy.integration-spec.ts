import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { Socket } from 'node:net';

import { jest } from '@jest/globals';
import { ImapFlow } from 'imapflow';
import { createTransport } from 'nodemailer';

import { addMailUsers, readMailStack } from '../../../test/infra/mail-stack.js';
import type { MailStack } from '../../../test/infra/mail-stack.js';
import { countingListener } from '../../../test/support/counting-listener.js';
import type { CountingListener } from '../../../test/support/counting-listener.js';
import { ScriptedSmtpServer } from '../../../test/support/scripted-smtp-server.js';
import { testConfig } from '../../../test/support/test-config.js';
import { OutboundPolicy } from '../src/egress/outbound-policy.js';
import type { HostResolver, ResolvedAddress } from '../src/egress/outbound-policy.js';
import { MailServerLoginError, MailServerUnreachableError, OutboundRefusedError } from '../src/errors.js';
import { imapClientOptions } from '../src/imap/imap-client-options.js';
import { ImapConnectionPool } from '../src/imap/imap-connection-pool.js';
import { openImapSession } from '../src/imap/imap-session.js';
import { verifyImapLogin } from '../src/imap/verify-imap-login.js';
import type { PasswordServerSettings } from '../src/mail-server-settings.js';
import { smtpTransportOptions } from '../src/smtp/smtp-transport-options.js';
import { SmtpTransportPool } from '../src/smtp/smtp-transport-pool.js';
import { verifySmtpLogin } from '../src/smtp/verify-smtp-login.js';

/** Names the tests make resolve to anything, without DNS. */
const NAMES: Record<string, ResolvedAddress[]> = {
  'metadata.tenant.test': [{ address: '169.254.169.254', family: 4 }],
  'intranet.tenant.test': [{ address: '10.0.0.25', family: 4 }],
  'cgnat.tenant.test': [{ address: '100.64.1.1', family: 4 }],
  'ula.tenant.test': [{ address: 'fd00::25', family: 6 }],
  'link-local6.tenant.test': [{ address: 'fe80::1', family: 6 }],
  'mapped.tenant.test': [{ address: '::ffff:192.168.1.1', family: 6 }],
  'nat64.tenant.test': [{ address: '64:ff9b::a9fe:a9fe', family: 6 }],
  'loopback.tenant.test': [{ address: '127.0.0.1', family: 4 }],
  'loopback6.tenant.test': [{ address: '::1', family: 6 }],
  // A public address beside a private one: a client could be steered to either.
  'split.tenant.test': [
    { address: '93.184.215.14', family: 4 },
    { address: '10.0.0.25', family: 4 },
  ],
};
const resolver: HostResolver = (host) => Promise.resolve(NAMES[host] ?? []);

const settingsOf = (
  host: string,
  port: number,
  overrides: Partial<PasswordServerSettings> = {},
): PasswordServerSettings => ({
  host,
  port,
  security: 'none',
  username: 'tenant@example.test',
  password: 'secret',
  allowSelfSignedCertificates: false,
  ...overrides,
});

describe('the outbound policy in front of every IMAP and SMTP connection', () => {
  // `public` with nothing allowed: loopback is refused like any other internal address.
  const publicPolicy = new OutboundPolicy(
    testConfig({ OUTBOUND_POLICY: 'public', OUTBOUND_ALLOWED_HOSTS: '' }).outbound,
    resolver,
  );
  let connectSpy: jest.SpiedFunction<Socket['connect']>;

  beforeEach(() => {
    // Every socket, net or tls, connects through Socket#connect: none may be opened for a refused server.
    connectSpy = jest.spyOn(Socket.prototype, 'connect');
  });

  afterEach(() => {
    connectSpy.mockRestore();
  });

  describe('refuses before any socket is opened', () => {
    let listener: CountingListener;

    beforeAll(async () => {
      listener = await countingListener((socket) => socket.destroy());
    });

    afterAll(() => {
      listener.server.close();
    });

    const internalNames = Object.keys(NAMES);
    const loopbackLiterals = ['127.0.0.1', '127.0.0.2', '::ffff:127.0.0.1', '::ffff:7f00:1', '0.0.0.0', '::1', '::'];

    it.each(internalNames)('the name %s, for the IMAP and SMTP login tests', async (host) => {
      const settings = settingsOf(host, 993);

      await expect(verifyImapLogin(publicPolicy, settings, 2_000)).rejects.toThrow(OutboundRefusedError);
      await expect(verifySmtpLogin(publicPolicy, { ...settings, port: 587 }, 2_000)).rejects.toThrow(
        OutboundRefusedError,
      );
      expect(connectSpy).not.toHaveBeenCalled();
    });

    it.each(loopbackLiterals)(
      'the loopback form %s, with a listener on the port that sees no connection',
      async (host) => {
        const settings = settingsOf(host, listener.port);

        await expect(verifyImapLogin(publicPolicy, settings, 2_000)).rejects.toMatchObject({
          code: 'mail_host_not_allowed',
        });
        await expect(verifySmtpLogin(publicPolicy, settings, 2_000)).rejects.toMatchObject({
          code: 'mail_host_not_allowed',
        });
        expect(connectSpy).not.toHaveBeenCalled();
        expect(listener.connections()).toBe(0);
      },
    );

    it('in the sync session, the IMAP connection pool and the SMTP transport pool', async () => {
      const pool = new ImapConnectionPool({
        size: 2,
        timeoutMs: 2_000,
        idleTimeoutMs: 60_000,
        checkAfterMs: 60_000,
        policy: publicPolicy,
      });
      const smtpPool = new SmtpTransportPool(testConfig(), publicPolicy);
      try {
        await expect(openImapSession(publicPolicy, settingsOf('metadata.tenant.test', 143), 2_000)).rejects.toThrow(
          OutboundRefusedError,
        );
        await expect(openImapSession(publicPolicy, settingsOf('127.0.0.1', listener.port), 2_000)).rejects.toThrow(
          OutboundRefusedError,
        );
        await expect(
          pool.withConnection(settingsOf('intranet.tenant.test', 993), () => Promise.resolve('never')),
        ).rejects.toThrow(OutboundRefusedError);
        await expect(
          pool.withConnection(settingsOf('127.0.0.1', listener.port), () => Promise.resolve('never')),
        ).rejects.toThrow(OutboundRefusedError);
        const envelope = { from: 'tenant@example.test', to: ['someone@example.org'] };
        await expect(
          smtpPool.send(
            'k',
            settingsOf('split.tenant.test', 587),
            envelope,
            Buffer.from('Subject: x\r\n\r\nx\r\n'),
            '<x@example.test>',
          ),
        ).rejects.toThrow(OutboundRefusedError);
        await expect(
          smtpPool.send(
            'k',
            settingsOf('127.0.0.1', listener.port),
            envelope,
            Buffer.from('Subject: x\r\n\r\nx\r\n'),
            '<x@example.test>',
          ),
        ).rejects.toThrow(OutboundRefusedError);
        expect(pool.stats.open).toBe(0);
        expect(smtpPool.openPools).toBe(0);
      } finally {
        await pool.close();
        smtpPool.onModuleDestroy();
      }
      expect(connectSpy).not.toHaveBeenCalled();
      expect(listener.connections()).toBe(0);
    });

    it('answers an open and a closed port alike, and as fast', async () => {
      const closed = await countingListener();
      const closedPort = closed.port;
      closed.server.close();
      await once(closed.server, 'close');

      const attempt = async (port: number): Promise<{ message: string; ms: number }> => {
        const startedAt = performance.now();
        const error = await verifyImapLogin(publicPolicy, settingsOf('127.0.0.1', port), 10_000).catch(
          (caught: unknown) => caught as Error,
        );
        return {
          message: error instanceof Error ? error.message.replace(String(port), 'PORT') : 'resolved',
          ms: performance.now() - startedAt,
        };
      };
      const open = await attempt(listener.port);
      const shut = await attempt(closedPort);

      expect(open.message).toBe(shut.message);
      expect(open.message).toMatch(/not allowed/);
      expect(open.ms).toBeLessThan(100);
      expect(shut.ms).toBeLessThan(100);
    });
  });

  describe('with 127.0.0.1 allowed, as the test environment has it', () => {
    const policy = new OutboundPolicy(testConfig().outbound, (host) =>
      Promise.resolve(host.endsWith('.example.test') ? [{ address: '127.0.0.1', family: 4 }] : (NAMES[host] ?? [])),
    );
    let stack: MailStack;
    let user: string;
    const password = 'egress password';

    beforeAll(async () => {
      stack = readMailStack(process.env.MAIL_STACK_DIR ?? '');
      user = `egress-${randomUUID().slice(0, 8)}@${stack.domain}`;
      await addMailUsers(stack, [{ email: user, password }]);
    });

    it('still refuses the names and ports the allowlist does not cover', async () => {
      await expect(verifyImapLogin(policy, settingsOf('intranet.tenant.test', 993), 2_000)).rejects.toThrow(
        OutboundRefusedError,
      );
      await expect(verifyImapLogin(policy, settingsOf('127.0.0.2', stack.imapPort), 2_000)).rejects.toThrow(
        OutboundRefusedError,
      );
      await expect(verifySmtpLogin(policy, settingsOf('127.0.0.1', 25), 2_000)).rejects.toThrow(OutboundRefusedError);
      expect(connectSpy).not.toHaveBeenCalled();
    });

    it('logs in to Dovecot and Postfix on the checked address', async () => {
      await expect(
        verifyImapLogin(policy, settingsOf(stack.host, stack.imapPort, { username: user, password }), 5_000),
      ).resolves.toBeUndefined();
      await expect(
        verifySmtpLogin(policy, settingsOf(stack.host, stack.smtpPort, { username: user, password }), 5_000),
      ).resolves.toBeUndefined();
      expect(connectSpy).toHaveBeenCalled();
    });

    it('keeps the server’s own reason when it refuses the login', async () => {
      const imap = verifyImapLogin(
        policy,
        settingsOf(stack.host, stack.imapPort, { username: user, password: 'wrong' }),
        5_000,
      );
      await expect(imap).rejects.toThrow(MailServerLoginError);
      await expect(imap).rejects.toThrow(/AUTHENTICATIONFAILED|Authentication failed/i);
      const smtp = verifySmtpLogin(
        policy,
        settingsOf(stack.host, stack.smtpPort, { username: user, password: 'wrong' }),
        5_000,
      );
      await expect(smtp).rejects.toThrow(MailServerLoginError);
      await expect(smtp).rejects.toThrow(/535/);
    });

    it('gives one generic reason for a closed port, a reset and a server that never greets, within the timeout', async () => {
      const closed = await countingListener();
      const closedPort = closed.port;
      closed.server.close();
      await once(closed.server, 'close');
      const resetting = await countingListener((socket) => socket.resetAndDestroy());
      const silent = await countingListener();
      try {
        const outcomes: { protocol: string; message: string; ms: number }[] = [];
        for (const port of [closedPort, resetting.port, silent.port]) {
          for (const [protocol, verify] of [
            ['IMAP', verifyImapLogin],
            ['SMTP', verifySmtpLogin],
          ] as const) {
            const startedAt = performance.now();
            const error = await verify(policy, settingsOf('127.0.0.1', port), 1_500).catch((caught: unknown) => caught);
            expect(error).toBeInstanceOf(MailServerUnreachableError);
            outcomes.push({
              protocol,
              message: (error as Error).message.replace(String(port), 'PORT'),
              ms: performance.now() - startedAt,
            });
          }
        }

        for (const protocol of ['IMAP', 'SMTP']) {
          const messages = new Set(
            outcomes.filter((outcome) => outcome.protocol === protocol).map((outcome) => outcome.message),
          );
          expect([...messages]).toEqual([
            `${protocol} login failed: could not connect to 127.0.0.1 port PORT (no answer, connection refused or reset, or TLS failed)`,
          ]);
        }
        for (const outcome of outcomes) expect(outcome.ms).toBeLessThan(1_500 + 500);
      } finally {
        resetting.server.close();
        silent.server.close();
      }
    });

    it('verifies the certificate against the account’s host name while connecting to the checked IP', async () => {
      // Dovecot's self-signed certificate names mail.<domain>; trusting it as a CA leaves the name check as the only test.
      const ca = readFileSync(stack.tlsCert);
      const login = { username: user, password, security: 'tls' as const };
      const connectWith = async (host: string): Promise<void> => {
        const settings = settingsOf(host, stack.imapsPort, login);
        const target = await policy.resolve(host, stack.imapsPort);
        expect(target.address).toBe('127.0.0.1');
        const options = imapClientOptions(settings, target, 5_000);
        const client = new ImapFlow({ ...options, tls: { ...options.tls, ca }, verifyOnly: true });
        client.on('error', () => undefined);
        try {
          await client.connect();
        } finally {
          client.close();
        }
      };

      await expect(connectWith(`mail.${stack.domain}`)).resolves.toBeUndefined();
      await expect(connectWith(`impostor.${stack.domain}`)).rejects.toThrow(/altnames|does not match/i);
    });

    it('does the same for SMTP after STARTTLS', async () => {
      const ca = readFileSync(stack.tlsCert);
      const connectWith = async (host: string): Promise<void> => {
        const settings = settingsOf(host, stack.smtpPort, { username: user, password, security: 'starttls' });
        const options = smtpTransportOptions(settings, await policy.resolve(host, stack.smtpPort), 5_000);
        const transport = createTransport({ ...options, tls: { ...options.tls, ca } });
        try {
          await transport.verify();
        } finally {
          transport.close();
        }
      };

      await expect(connectWith(`mail.${stack.domain}`)).resolves.toBe(undefined);
      await expect(connectWith(`impostor.${stack.domain}`)).rejects.toThrow(/altnames|does not match/i);
    });

    it('sends through the SMTP transport pool to an admitted server', async () => {
      const smtp = new ScriptedSmtpServer();
      await smtp.start();
      const smtpPool = new SmtpTransportPool(testConfig(), policy);
      try {
        const acceptance = await smtpPool.send(
          'k',
          settingsOf('relay.example.test', smtp.port),
          { from: 'tenant@example.test', to: ['someone@example.org'] },
          Buffer.from('Subject: x\r\nMessage-ID: <egress@example.test>\r\n\r\nx\r\n'),
          '<egress@example.test>',
        );
        expect(acceptance.accepted).toEqual(['someone@example.org']);
        expect(smtp.received).toHaveLength(1);
      } finally {
        smtpPool.onModuleDestroy();
        await smtp.stop();
      }
    });
  });
});
