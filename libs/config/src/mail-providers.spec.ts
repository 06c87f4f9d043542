import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parseMailProviders, ProviderConfigError } from './mail-providers.js';

describe('parseMailProviders', () => {
  it('gives the presets when OAUTH_PROVIDERS is unset, OAuth2 ones without a client id', () => {
    const sut = parseMailProviders(undefined);

    expect(sut.map((provider) => provider.id)).toEqual(['google', 'microsoft', 'icloud', 'yahoo', 'fastmail']);
    expect(sut.find((provider) => provider.id === 'google')?.oauth?.clientId).toBeNull();
    expect(sut.find((provider) => provider.id === 'fastmail')).toMatchObject({ auth: 'password', oauth: null });
  });

  it('changes only the fields an entry with a preset id gives', () => {
    const sut = parseMailProviders(JSON.stringify([{ id: 'google', clientId: 'id-1', clientSecret: 'secret-1' }]));

    expect(sut.find((provider) => provider.id === 'google')).toMatchObject({
      imap: { host: 'imap.gmail.com', port: 993, security: 'tls' },
      filesSentCopy: true,
      oauth: { clientId: 'id-1', clientSecret: 'secret-1', tokenUrl: 'https://oauth2.googleapis.com/token' },
    });
  });

  it('adds a provider from a file and refuses one that leaves out what it needs', () => {
    const folder = mkdtempSync(join(tmpdir(), 'providers-'));
    try {
      const file = join(folder, 'providers.json');
      writeFileSync(
        file,
        JSON.stringify([
          {
            id: 'corp',
            auth: 'password',
            imap: { host: 'imap.corp.example', port: 993, security: 'tls' },
            smtp: { host: 'smtp.corp.example', port: 587, security: 'starttls' },
          },
        ]),
      );
      expect(parseMailProviders(file).find((provider) => provider.id === 'corp')).toMatchObject({
        name: 'corp',
        filesSentCopy: false,
        oauth: null,
      });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
    expect(() => parseMailProviders('[{"id":"corp","auth":"oauth2"}]')).toThrow(ProviderConfigError);
    expect(() => parseMailProviders('[{"id":"Bad Id"}]')).toThrow('OAUTH_PROVIDERS[0].id');
    expect(() => parseMailProviders('[not json')).toThrow('OAUTH_PROVIDERS is not valid JSON');
  });
});
