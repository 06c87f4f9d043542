import type { SendRecord } from '@app/database';
import { IdempotencyKeyReusedError } from './errors.js';
import { assertSameRequest, idempotentRequest } from './idempotency-key.js';

const sendWith = (requestFingerprint: string | null): SendRecord => ({ requestFingerprint }) as SendRecord;

describe('idempotentRequest', () => {
  it('fingerprints a body independently of its key order', () => {
    const sut = idempotentRequest('k', 'compose', {
      accountId: 'a',
      to: [{ name: 'B', address: 'b@example.com' }],
      subject: 's',
    });
    const reordered = idempotentRequest('k', 'compose', {
      subject: 's',
      to: [{ address: 'b@example.com', name: 'B' }],
      accountId: 'a',
    });

    expect(sut?.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(reordered?.fingerprint).toBe(sut?.fingerprint);
  });

  it('tells apart different bodies, array orders and operations', () => {
    const fingerprints = new Set([
      idempotentRequest('k', 'compose', { to: ['a@example.com', 'b@example.com'] })?.fingerprint,
      idempotentRequest('k', 'compose', { to: ['b@example.com', 'a@example.com'] })?.fingerprint,
      idempotentRequest('k', 'compose', { to: ['a@example.com'] })?.fingerprint,
      idempotentRequest('k', 'send-draft', 'f7a3e6f4-0c4c-4c1e-9a59-1d7c1b1f2e01')?.fingerprint,
      idempotentRequest('k', 'compose', 'f7a3e6f4-0c4c-4c1e-9a59-1d7c1b1f2e01')?.fingerprint,
    ]);

    expect(fingerprints.size).toBe(5);
  });

  it('is null without a key', () => {
    expect(idempotentRequest(null, 'compose', { to: [] })).toBeNull();
  });
});

describe('assertSameRequest', () => {
  const request = idempotentRequest('key-1', 'send-draft', 'draft-1');

  it('accepts the same request, a send stored without fingerprint and a request without key', () => {
    expect(() => assertSameRequest(sendWith(request?.fingerprint ?? ''), request)).not.toThrow();
    expect(() => assertSameRequest(sendWith(null), request)).not.toThrow();
    expect(() => assertSameRequest(sendWith('0'.repeat(64)), null)).not.toThrow();
  });

  it('refuses a different request under the same key with 422 naming the key', () => {
    const sut = (): void => assertSameRequest(sendWith('0'.repeat(64)), request);

    expect(sut).toThrow(IdempotencyKeyReusedError);
    expect(sut).toThrow(/Idempotency-Key "key-1" was already used for a different request/);
  });
});
