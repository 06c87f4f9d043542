import { snippetOf } from './header-block.js';

/** The definition a snippet must keep: the whole text collapsed and trimmed, then cut. */
function reference(text: string, length: number): string | null {
  const collapsed = text.replace(/\s+/g, ' ').trim();
  return collapsed === '' ? null : collapsed.slice(0, length);
}

describe('snippetOf', () => {
  it('matches collapsing the whole text, wherever the whitespace runs fall', () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pieces = ['word', ' ', '\n\n', '\t', '   ', 'é', 'x', '\r\n', ' '.repeat(900), 'longer-token'];
    for (let round = 0; round < 2_000; round += 1) {
      const text = Array.from(
        { length: Math.floor(random() * 400) },
        () => pieces[Math.floor(random() * pieces.length)],
      ).join('');
      for (const length of [1, 5, 200])
        expect([round, length, snippetOf(text, length)]).toEqual([round, length, reference(text, length)]);
    }
  });

  it('is null for empty or blank text', () => {
    expect(snippetOf(null)).toBeNull();
    expect(snippetOf('')).toBeNull();
    expect(snippetOf(' \n\t '.repeat(500))).toBeNull();
  });
});
