import { parseSearchQuery } from './query/search-query.parser.js';
import { highlight, highlightTerms } from './highlight.js';

describe('highlightTerms', () => {
  it('takes the words of free text, phrases and subject terms, folded, and none under a negation', () => {
    expect(highlightTerms(parseSearchQuery('Invoice "Due Date" subject:Café -spam from:alice'))).toEqual([
      'invoice',
      'due',
      'date',
      'cafe',
    ]);
    expect(highlightTerms(parseSearchQuery('is:unread has:attachment'))).toEqual([]);
  });
});

describe('highlight', () => {
  it('marks whole-word matches, ignoring case and accents, in the original spelling', () => {
    expect(highlight('Meet at the Café; the cafeteria is closed.', ['cafe'])).toBe(
      'Meet at the <mark>Café</mark>; the cafeteria is closed.',
    );
  });

  it('shows a window around the first match, starting at a word, with ellipses where text was cut', () => {
    const text = `${'lorem ipsum '.repeat(20)}the invoice is attached ${'dolor sit '.repeat(40)}`;
    const snippet = highlight(text, ['invoice']) ?? '';
    expect(snippet.startsWith('…')).toBe(true);
    expect(snippet.endsWith('…')).toBe(true);
    expect(snippet).toContain('the <mark>invoice</mark> is attached');
    expect(snippet).toMatch(/^…(lorem|ipsum) /);
    expect(snippet.length).toBeLessThan(260);
  });

  it('escapes the text around and inside the marks', () => {
    expect(highlight('<b>price</b> & "terms"', ['price', 'terms'])).toBe(
      '&#60;b&#62;<mark>price</mark>&#60;/b&#62; &#38; &#34;<mark>terms</mark>&#34;',
    );
  });

  it('answers null when nothing matches or nothing is sought', () => {
    expect(highlight('nothing here', ['invoice'])).toBeNull();
    expect(highlight('invoice', [])).toBeNull();
    expect(highlight('', ['invoice'])).toBeNull();
  });
});
