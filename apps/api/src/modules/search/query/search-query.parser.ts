import type { MessageFilter } from '@app/database';

import { SearchParseError } from '../errors.js';
import { tokenize } from './tokenizer.js';
import type { Token } from './tokenizer.js';

/**
 * Recursive descent over the tokens, lowest precedence first:
 *
 *   query   := or END
 *   or      := and ( "OR" and )*
 *   and     := unary ( "AND"? unary )*      adjacency is AND, which binds tighter than OR
 *   unary   := "-" unary | primary
 *   primary := "(" or ")" | operator | phrase | word
 */
export function parseSearchQuery(input: string): MessageFilter {
  const tokens = tokenize(input);
  let index = 0;

  const peek = (): Token => tokens[index];
  const advance = (): Token => {
    const token = peek();
    if (token.type !== 'end') index += 1;
    return token;
  };

  const startsOperand = (token: Token): boolean =>
    token.type === 'word' ||
    token.type === 'phrase' ||
    token.type === 'operator' ||
    token.type === 'not' ||
    token.type === 'open';

  const describe = (token: Token): string => {
    switch (token.type) {
      case 'end':
        return 'end of query';
      case 'close':
        return '")"';
      case 'or':
        return '"OR"';
      case 'and':
        return '"AND"';
      case 'word':
      case 'phrase':
      case 'operator':
      case 'not':
      case 'open':
        return 'a term';
    }
  };

  const parseOr = (): MessageFilter => {
    const children = [parseAnd()];
    while (peek().type === 'or') {
      const or = advance();
      if (!startsOperand(peek()))
        throw new SearchParseError(`"OR" needs a term after it, found ${describe(peek())}`, or.position);
      children.push(parseAnd());
    }
    return children.length === 1 ? children[0] : { kind: 'or', children };
  };

  const parseAnd = (): MessageFilter => {
    const first = peek();
    if (!startsOperand(first)) {
      if (first.type === 'or' || first.type === 'and') {
        throw new SearchParseError(`"${first.type.toUpperCase()}" needs a term before it`, first.position);
      }
      if (first.type === 'close') throw new SearchParseError('unexpected ")"', first.position);
      throw new SearchParseError('query is empty', first.position);
    }
    const children = [parseUnary()];
    for (;;) {
      const next = peek();
      if (next.type === 'and') {
        advance();
        if (!startsOperand(peek()))
          throw new SearchParseError(`"AND" needs a term after it, found ${describe(peek())}`, next.position);
        continue;
      }
      if (!startsOperand(next)) break;
      children.push(parseUnary());
    }
    return children.length === 1 ? children[0] : { kind: 'and', children };
  };

  const parseUnary = (): MessageFilter => {
    const token = peek();
    if (token.type === 'not') {
      advance();
      if (!startsOperand(peek())) throw new SearchParseError('"-" must be followed by a term', token.position);
      return { kind: 'not', child: parseUnary() };
    }
    return parsePrimary();
  };

  const parsePrimary = (): MessageFilter => {
    const token = advance();
    switch (token.type) {
      case 'open': {
        if (peek().type === 'close') throw new SearchParseError('empty parentheses', token.position);
        const inner = parseOr();
        const close = peek();
        if (close.type !== 'close') throw new SearchParseError('"(" is never closed', token.position);
        advance();
        return inner;
      }
      case 'word':
        return { kind: 'text', value: token.value, phrase: false };
      case 'phrase':
        if (token.value.trim() === '') throw new SearchParseError('empty phrase', token.position);
        return { kind: 'text', value: token.value, phrase: true };
      case 'operator':
        return operatorFilter(token.name, token.value, token.quoted, token.position);
      case 'not':
      case 'or':
      case 'and':
      case 'close':
      case 'end':
        throw new SearchParseError(`expected a term, found ${describe(token)}`, token.position);
    }
  };

  const result = parseOr();
  const rest = peek();
  if (rest.type === 'close') throw new SearchParseError('unexpected ")"', rest.position);
  if (rest.type !== 'end') throw new SearchParseError(`unexpected ${describe(rest)}`, rest.position);
  return result;
}

const DATE = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$/u;

function operatorFilter(name: string, value: string, quoted: boolean, position: number): MessageFilter {
  switch (name) {
    case 'from':
    case 'to':
    case 'cc':
      return { kind: 'address', field: name, value: value.trim() };
    case 'subject':
      return { kind: 'subject', value, phrase: quoted };
    case 'in':
      return { kind: 'folder', value };
    case 'has':
      if (/^attachments?$/iu.test(value)) return { kind: 'hasAttachment' };
      throw new SearchParseError(`has: accepts "attachment", not "${value}"`, position);
    case 'is':
      switch (value.toLowerCase()) {
        case 'unread':
          return { kind: 'flag', flag: 'seen', present: false };
        case 'read':
          return { kind: 'flag', flag: 'seen', present: true };
        case 'flagged':
        case 'starred':
          return { kind: 'flag', flag: 'flagged', present: true };
        default:
          throw new SearchParseError(`is: accepts unread, read or flagged, not "${value}"`, position);
      }
    case 'before':
    case 'after':
      return { kind: 'date', bound: name, date: parseDate(name, value, position) };
    default:
      throw new SearchParseError(`unknown operator "${name}:"`, position);
  }
}

function parseDate(name: string, value: string, position: number): string {
  const match = DATE.exec(value);
  if (match) {
    const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
    const date = new Date(Date.UTC(year, month - 1, day));
    // Date.UTC rolls 2024-02-30 over to March; a date that does not survive the round trip is not a date.
    if (date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day) {
      return date.toISOString().slice(0, 10);
    }
  }
  throw new SearchParseError(`${name}: needs a date as YYYY-MM-DD, not "${value}"`, position);
}
