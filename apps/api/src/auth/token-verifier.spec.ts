import { jest } from '@jest/globals';
import { loadConfig } from '@app/config';
import { JwtService } from '@nestjs/jwt';

import { InvalidTokenError } from './errors.js';
import { TokenVerifier } from './token-verifier.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';

describe('TokenVerifier', () => {
  const sut = new TokenVerifier(loadConfig({ JWT_SECRET: SECRET }));
  const signer = new JwtService({ secret: SECRET });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('refuses a token once it expires, though it was accepted before', async () => {
    jest.useFakeTimers({ now: new Date('2026-03-01T10:00:00Z') });
    const token = signer.sign({ sub: 'user', tenant: 'acme' }, { expiresIn: '30s' });

    await expect(sut.verify(token)).resolves.toMatchObject({ sub: 'user', tenant: 'acme' });
    jest.setSystemTime(new Date('2026-03-01T10:00:30Z'));

    await expect(sut.verify(token)).rejects.toThrow(InvalidTokenError);
  });

  it('refuses a token with another signature, though one with the same claims was accepted', async () => {
    const token = signer.sign({ sub: 'user', tenant: 'acme' }, { expiresIn: '1h' });
    const [header, payload] = token.split('.');
    const forged = `${header}.${payload}.${new JwtService({ secret: 'another-secret-of-sufficient-length-here' }).sign({}).split('.')[2]}`;

    await expect(sut.verify(token)).resolves.toMatchObject({ tenant: 'acme' });
    await expect(sut.verify(forged)).rejects.toThrow(InvalidTokenError);
  });

  it('hands out claims nobody can change for the next request with the same token', async () => {
    const token = signer.sign({ sub: 'user', tenant: 'acme' }, { expiresIn: '1h' });
    const claims = await sut.verify(token);

    expect(() => Object.assign(claims, { tenant: 'other' })).toThrow(TypeError);
    await expect(sut.verify(token)).resolves.toMatchObject({ tenant: 'acme' });
  });
});
