import fc from 'fast-check';

import { jsonNestsDeeperThan } from './json-body-parser.js';

const nestsDeeperThan = (json: string, maxDepth: number): boolean => jsonNestsDeeperThan(Buffer.from(json), maxDepth);

/** The nesting depth of a parsed value, as JSON.parse sees it. */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depthOf));
}

describe('jsonNestsDeeperThan', () => {
  it('counts arrays and objects alike', () => {
    expect(nestsDeeperThan('{"a":[{"b":[1]}]}', 4)).toBe(false);
    expect(nestsDeeperThan('{"a":[{"b":[1]}]}', 3)).toBe(true);
    expect(nestsDeeperThan('[[],[],[]]', 2)).toBe(false);
    expect(nestsDeeperThan('"[[[["', 0)).toBe(false);
  });

  it('skips brackets inside strings, also after escaped quotes and backslashes', () => {
    expect(nestsDeeperThan('{"a":"[[[\\"[[[","b":"\\\\"}', 1)).toBe(false);
    expect(nestsDeeperThan('["\\\\",[[]]]', 2)).toBe(true);
    expect(nestsDeeperThan('{"日本[":"{{"}', 1)).toBe(false);
  });

  it('answers in one pass for 100,000 levels', () => {
    expect(nestsDeeperThan(`${'['.repeat(100_000)}${']'.repeat(100_000)}`, 16)).toBe(true);
  });

  it('agrees with JSON.parse on any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 8 }), (value, maxDepth) => {
        expect(nestsDeeperThan(JSON.stringify(value), maxDepth)).toBe(depthOf(value) > maxDepth);
      }),
    );
  });
});
