import { BadRequestException } from '@nestjs/common';
import type { ArgumentMetadata } from '@nestjs/common';

import { SafeInputPipe, unstorableTextProblem } from './safe-input.pipe.js';

class MessageDto {}

describe('unstorableTextProblem', () => {
  it.each([
    ['a\u0000b', 'contains U+0000'],
    ['\ud800', 'contains an unpaired surrogate'],
    ['x\udfff', 'contains an unpaired surrogate'],
    ['\ude00\ud83d', 'contains an unpaired surrogate'],
  ])('refuses %j', (value, problem) => {
    expect(unstorableTextProblem(value)).toBe(problem);
  });

  it.each(['', 'tab\tand\r\nbreaks', '\u0001\u001f\u007f\u0085', '😀 paired surrogates', '\ufffd\ufeff'])(
    'keeps %j',
    (value) => {
      expect(unstorableTextProblem(value)).toBeNull();
    },
  );
});

describe('SafeInputPipe', () => {
  const sut = new SafeInputPipe();
  const body: ArgumentMetadata = { type: 'body', metatype: MessageDto };
  const refusal = (value: unknown, metadata: ArgumentMetadata): string => {
    try {
      sut.transform(value, metadata);
    } catch (error: unknown) {
      if (error instanceof BadRequestException) return error.message;
      throw error;
    }
    return 'accepted';
  };

  it('names the field at any depth', () => {
    expect(refusal({ subject: '\u0000' }, body)).toBe('subject contains U+0000');
    expect(refusal({ to: [{ name: 'ok' }, { name: '\ud800' }] }, body)).toBe(
      'to[1].name contains an unpaired surrogate',
    );
    expect(refusal({ 'a\u0000': 1 }, body)).toBe('a property name in body contains U+0000');
    expect(refusal({ folder: 'IN\u0000BOX' }, { type: 'query', metatype: MessageDto })).toBe(
      'query parameter folder contains U+0000',
    );
    expect(refusal('\u0000', { type: 'param', metatype: String, data: 'id' })).toBe(
      'path parameter id contains U+0000',
    );
  });

  it('refuses names every object inherits and bodies that are not objects', () => {
    expect(refusal({ toString: '1' }, { type: 'query', metatype: MessageDto })).toBe(
      'query parameter toString is not allowed',
    );
    expect(refusal({ imap: { constructor: 1 } }, body)).toBe('imap.constructor is not allowed');
    expect(refusal(null, body)).toBe('The body must be a JSON object');
    expect(refusal([{}], body)).toBe('The body must be a JSON object');
    expect(refusal(undefined, body)).toBe('The body must be a JSON object');
  });

  it('passes everything else through unchanged', () => {
    const value = { subject: 'Tabs\tand\r\nbreaks', to: [{ name: 'Jürgen 😀' }], limit: 3, flagged: false };
    expect(sut.transform(value, body)).toBe(value);
    expect(sut.transform('b1946ac9-2d5c-4f57-9d3b-8f0a6f6c2e61', { type: 'param', metatype: String, data: 'id' })).toBe(
      'b1946ac9-2d5c-4f57-9d3b-8f0a6f6c2e61',
    );
  });
});
