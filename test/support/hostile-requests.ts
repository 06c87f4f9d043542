import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';

import fc from 'fast-check';
import type { Arbitrary } from 'fast-check';

/** The parts of an OpenAPI 3 document (as @nestjs/swagger writes it) that requests are built from. */
export interface Schema {
  $ref?: string;
  allOf?: Schema[];
  oneOf?: Schema[];
  type?: string;
  format?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  example?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: Schema;
}

interface OperationObject {
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OperationObject>>;
  components: { schemas: Record<string, Schema> };
}

export interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  /** The JSON body's schema, or null when the operation takes none. */
  body: Schema | null;
  /** False when the body may be left out (POST /api/compose/send/{draftId}): then no body is a valid request. */
  bodyRequired: boolean;
  multipart: boolean;
}

export interface HostileRequest {
  method: string;
  /** Path and query, already percent-encoded. */
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** What was made hostile, for the failure message. */
  what: string;
  /** Over the API's body limit: sent as headers only, since the API answers 413 from Content-Length. */
  oversized?: boolean;
}

/** Ids that exist for the tenant under test, so that a request reaches validation and not only a 404. */
export interface ExistingIds {
  accountId: string;
  draftId: string;
}

/** What an /api operation takes: parameters, and a JSON or multipart body. */
export function apiOperations(document: OpenApiDocument): Operation[] {
  return Object.entries(document.paths)
    .filter(([path]) => path.startsWith('/api/'))
    .flatMap(([path, operations]) =>
      Object.entries(operations).map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        parameters: operation.parameters ?? [],
        body: operation.requestBody?.content['application/json']?.schema ?? null,
        bodyRequired: operation.requestBody?.required !== false,
        multipart: operation.requestBody?.content['multipart/form-data'] !== undefined,
      })),
    );
}

/**
 * Builds valid requests of an operation from its schemas and, from each, requests the API must
 * refuse with a 4xx: one field, parameter or header, or the whole body, replaced by a value the
 * schema does not admit (or that holds U+0000 or an unpaired surrogate, which no text field
 * admits). A replaced value is never `null` for an optional field, which means "absent".
 */
export class HostileRequests {
  constructor(
    private readonly document: OpenApiDocument,
    private readonly ids: ExistingIds,
    /** MAX_MESSAGE_SIZE_MB of the API under test: strings beyond it must answer 413. */
    private readonly bodyLimitBytes: number,
  ) {}

  /** The valid request every hostile one of `operation` is derived from. */
  valid(operation: Operation): HostileRequest {
    const path = operation.parameters
      .filter((parameter) => parameter.in === 'path')
      .reduce(
        (url, parameter) => url.replace(`{${parameter.name}}`, this.idFor(operation.path, parameter.name)),
        operation.path,
      );
    const query = new URLSearchParams(
      operation.parameters
        .filter((parameter) => parameter.in === 'query' && this.needsQuery(operation, parameter))
        .map((parameter): [string, string] => [parameter.name, this.queryExample(parameter)]),
    ).toString();
    const request: HostileRequest = {
      method: operation.method,
      url: query ? `${path}?${query}` : path,
      headers: {},
      what: 'nothing (valid)',
    };
    if (operation.body)
      return {
        ...request,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(this.example(operation.body, true)),
      };
    if (operation.multipart)
      return {
        ...request,
        ...multipart([
          {
            disposition: 'form-data; name="file"; filename="report.txt"',
            contentType: 'text/plain',
            content: Buffer.from('hello'),
          },
        ]),
      };
    return request;
  }

  /** Whether a client sends the operation anything (a path, query or header parameter, a body) to make hostile. */
  takesInput(operation: Operation): boolean {
    return operation.parameters.length > 0 || operation.body !== null || operation.multipart;
  }

  /** Hostile requests of `operation`, each invalid by construction; only for operations that take input. */
  hostile(operation: Operation): Arbitrary<HostileRequest> {
    const valid = this.valid(operation);
    const choices: Arbitrary<HostileRequest>[] = [];
    for (const parameter of operation.parameters) {
      if (parameter.in === 'path')
        choices.push(
          hostilePathValue().map(([raw, label]) => ({
            ...valid,
            url: this.withPath(operation, valid.url, parameter.name, raw),
            what: `path ${parameter.name} = ${label}`,
          })),
        );
      if (parameter.in === 'query')
        choices.push(
          this.hostileQueryValue(parameter.schema ?? {}).map(([raw, label]) => ({
            ...valid,
            url: withQuery(valid.url, parameter.name, raw),
            what: `query ${parameter.name} = ${label}`,
          })),
        );
      if (parameter.in === 'query' && parameter.required)
        choices.push(
          fc.constant({
            ...valid,
            url: withoutQuery(valid.url, parameter.name),
            what: `query ${parameter.name} missing`,
          }),
        );
      if (parameter.in === 'header')
        choices.push(
          hostileHeaderValue().map(([value, label]) => ({
            ...valid,
            headers: { ...valid.headers, [parameter.name]: value },
            what: `header ${parameter.name} = ${label}`,
          })),
        );
    }
    // forbidNonWhitelisted refuses unknown names where a query is read; elsewhere it is never looked at.
    if (operation.parameters.some((parameter) => parameter.in === 'query'))
      choices.push(
        unknownQueryParameter(operation).map(([raw, label]) => ({
          ...valid,
          url: `${valid.url}${valid.url.includes('?') ? '&' : '?'}${raw}`,
          what: `unknown query ${label}`,
        })),
      );
    if (operation.body) choices.push(...this.hostileBodies(operation.body, valid, operation.bodyRequired));
    if (operation.multipart) choices.push(hostileMultipart().map((parts) => ({ ...valid, ...parts })));
    return fc.oneof(...choices);
  }

  private hostileBodies(schema: Schema, valid: HostileRequest, bodyRequired: boolean): Arbitrary<HostileRequest>[] {
    const base = this.example(schema, true) as Record<string, unknown>;
    const properties = Object.entries(this.resolve(schema).properties ?? {});
    const required = new Set(this.resolve(schema).required ?? []);
    const asBody = (body: string, what: string): HostileRequest => ({
      ...valid,
      body,
      what,
      oversized: Buffer.byteLength(body) > this.bodyLimitBytes,
    });
    const choices: Arbitrary<HostileRequest>[] = [
      this.hostileValue(schema, true).map((value) => asBody(serialize(value), `body = ${describeValue(value)}`)),
      ...(bodyRequired ? [fc.constant({ ...valid, headers: {}, body: undefined, what: 'no body' })] : []),
      fc
        .constantFrom('', '{', '{"a":1}}', '[1,]', 'NaN', '{"x": 1e999', '\u0000')
        .map((text) => asBody(text, `body = ${JSON.stringify(text)} (not JSON)`)),
      fc
        .constantFrom('__proto__', 'constructor')
        .chain((key) =>
          fc
            .constantFrom('{"polluted":true}', '{"prototype":{"polluted":true}}', '1', 'null')
            .map((value) =>
              asBody(
                `${serialize(base).slice(0, -1)}${Object.keys(base).length > 0 ? ',' : ''}"${key}":${value}}`,
                `body.${key} = ${value}`,
              ),
            ),
        ),
      fc
        .tuple(
          fc.string({ minLength: 1, maxLength: 20 }).filter((key) => !properties.some(([name]) => name === key)),
          jsonValue(),
        )
        .map(([key, value]) =>
          asBody(serialize({ ...base, [key]: value }), `unknown body property ${JSON.stringify(key)}`),
        ),
    ];
    for (const [name, property] of properties) {
      choices.push(
        this.hostileValue(property, required.has(name)).map((value) =>
          asBody(serialize({ ...base, [name]: value }), `body.${name} = ${describeValue(value)}`),
        ),
      );
    }
    return choices;
  }

  /** A JSON value that `schema` does not admit (`required`: whether null would be refused too). */
  private hostileValue(schema: Schema, required: boolean): Arbitrary<unknown> {
    const resolved = this.resolve(schema);
    const type = resolved.type ?? (resolved.properties ? 'object' : resolved.oneOf ? 'oneOf' : 'any');
    // Doubles without NaN and Infinity, which JSON.stringify writes as null (absent, for an optional field).
    const wrongTypes = {
      string: fc.oneof(
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.boolean(),
        fc.array(fc.string(), { maxLength: 3 }),
        fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
      ),
      number: fc.oneof(
        fc.string(),
        fc.boolean(),
        fc.array(fc.integer(), { maxLength: 3 }),
        fc.dictionary(fc.string(), fc.integer(), { maxKeys: 3 }),
      ),
      boolean: fc.oneof(
        fc.constantFrom('true', 'false', 'yes', 1, 0),
        fc.array(fc.boolean(), { maxLength: 2 }),
        fc.dictionary(fc.string(), fc.boolean(), { maxKeys: 2 }),
      ),
      array: fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 })),
      object: fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.array(jsonValue(), { maxLength: 3 })),
    };
    const choices: Arbitrary<unknown>[] = [deeplyNested()];
    if (required) choices.push(fc.constant(null));
    switch (type) {
      case 'string':
        choices.push(wrongTypes.string, unstorableString());
        if (resolved.maxLength !== undefined)
          choices.push(
            fc
              .integer({ min: resolved.maxLength + 1, max: resolved.maxLength + 2000 })
              .map((length) => 'a'.repeat(length)),
          );
        else choices.push(fc.constant(null).map(() => 'a'.repeat(this.bodyLimitBytes + 1)));
        if (resolved.format === 'date-time')
          choices.push(
            fc.constantFrom(
              '2026-12-24T09:00:00',
              '2026-12-24 09:00:00Z',
              '2026-02-30T09:00:00Z',
              'tomorrow',
              '1798000000',
              '9999-12-31T23:59:59Z',
            ),
          );
        if (resolved.format === 'uuid' || resolved.format === 'email')
          choices.push(
            fc
              .string({ maxLength: 40 })
              .map((text) => `${text} is not ${resolved.format === 'uuid' ? 'a uuid' : 'an address'}`),
          );
        break;
      case 'integer':
      case 'number':
        choices.push(wrongTypes.number, fc.constantFrom('NaN', 'Infinity', '-Infinity', '1', '1e999'));
        if (type === 'integer')
          choices.push(fc.double({ noNaN: true, noDefaultInfinity: true }).filter((value) => !Number.isInteger(value)));
        if (resolved.minimum !== undefined) choices.push(fc.integer({ min: -1e9, max: resolved.minimum - 1 }));
        if (resolved.maximum !== undefined) choices.push(fc.integer({ min: resolved.maximum + 1, max: 1e15 }));
        break;
      case 'boolean':
        choices.push(wrongTypes.boolean);
        break;
      case 'array': {
        choices.push(
          wrongTypes.array,
          fc.array(this.hostileValue(resolved.items ?? {}, true), { minLength: 1, maxLength: 3 }),
        );
        if (resolved.maxItems !== undefined)
          choices.push(
            fc
              .constant(null)
              .map(() =>
                Array.from({ length: (resolved.maxItems ?? 0) + 1 }, () => this.example(resolved.items ?? {}, true)),
              ),
          );
        break;
      }
      case 'object': {
        const properties = Object.entries(resolved.properties ?? {});
        const requiredNames = new Set(resolved.required ?? []);
        choices.push(wrongTypes.object);
        for (const [name, property] of properties) {
          choices.push(
            this.hostileValue(property, requiredNames.has(name)).map((value) => ({
              ...(this.example(resolved, true) as object),
              [name]: value,
            })),
          );
        }
        break;
      }
      case 'oneOf':
        // A recipient: a string or an object; neither admits these.
        choices.push(fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 2 }), unstorableString()));
        break;
      default:
        choices.push(unstorableString());
    }
    return fc.oneof(...choices);
  }

  private hostileQueryValue(schema: Schema): Arbitrary<[string, string]> {
    const encoded = (values: Arbitrary<string>): Arbitrary<[string, string]> =>
      values.map((value) => [encodeURIComponent(value), JSON.stringify(value)]);
    const choices: Arbitrary<[string, string]>[] = [
      encoded(unstorableString().filter(isWellFormed)),
      fc
        .tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }))
        .map(([first, second]): [string, string] => [
          `${encodeURIComponent(first)}&${'{name}'}=${encodeURIComponent(second)}`,
          `repeated ${JSON.stringify([first, second])}`,
        ]),
    ];
    switch (schema.type) {
      case 'integer':
      case 'number':
        choices.push(
          encoded(
            fc.constantFrom(
              '',
              ' ',
              'abc',
              '1.5',
              '-1',
              '0',
              '1e999',
              'NaN',
              'Infinity',
              '0x10',
              '99999999999999999999',
            ),
          ).filter(([, label]) => !isAdmittedNumber(JSON.parse(label) as string, schema)),
        );
        break;
      case 'boolean':
        choices.push(encoded(fc.constantFrom('', 'yes', 'no', '1', '0', 'TRUE', 'null', '%ED%A0%80')));
        break;
      default:
        if (schema.maxLength !== undefined)
          choices.push(
            fc
              .integer({ min: schema.maxLength + 1, max: schema.maxLength + 3000 })
              .map((length): [string, string] => ['a'.repeat(length), `${length} characters`]),
          );
        // Percent-encoded bytes that are not UTF-8 (how a URL would carry a lone surrogate) stay as
        // written in a query value: text a free-form parameter admits, so only a uuid gets them.
        if (schema.format === 'uuid')
          choices.push(
            encoded(fc.string({ maxLength: 40 }).map((text) => `not-a-uuid ${text}`)),
            fc.constant<[string, string]>(['%ED%A0%80', 'UTF-8 bytes of U+D800']),
          );
    }
    return fc.oneof(...choices);
  }

  private withPath(operation: Operation, url: string, name: string, raw: string): string {
    const [path, query] = url.split('?');
    const replaced = operation.path
      .split('/')
      .map((segment, index) => (segment === `{${name}}` ? raw : (path ?? '').split('/')[index]))
      .join('/');
    return query ? `${replaced}?${query}` : replaced;
  }

  private idFor(path: string, name: string): string {
    if (name === 'accountId' || (name === 'id' && path.startsWith('/api/accounts/'))) return this.ids.accountId;
    if (name === 'draftId' || (name === 'id' && path.startsWith('/api/compose/drafts/'))) return this.ids.draftId;
    return randomUUID();
  }

  private needsQuery(operation: Operation, parameter: Parameter): boolean {
    return (
      parameter.required === true ||
      (parameter.name === 'verify' && operation.path.startsWith('/api/accounts')) ||
      parameter.name === 'accountId'
    );
  }

  private queryExample(parameter: Parameter): string {
    if (parameter.name === 'verify') return 'false';
    const schema = parameter.schema ?? {};
    if (schema.format === 'uuid') return this.ids.accountId;
    return typeof schema.example === 'string' || typeof schema.example === 'number' ? String(schema.example) : 'x';
  }

  /** A value `schema` admits, with every field that has an example or is a flag (`required`: also when it has none). */
  private example(schema: Schema, required: boolean): unknown {
    const resolved = this.resolve(schema);
    if (resolved.example !== undefined && resolved.format !== 'uuid') return resolved.example;
    if (resolved.oneOf?.[0]) return this.example(resolved.oneOf[0], required);
    if (resolved.properties || resolved.type === 'object') {
      const requiredNames = new Set(resolved.required ?? []);
      return Object.fromEntries(
        Object.entries(resolved.properties ?? {}).flatMap(([name, property]) => {
          const value = this.example(property, requiredNames.has(name));
          return value === undefined ? [] : [[name, value]];
        }),
      );
    }
    if (resolved.type === 'array') {
      // Only items with an example of their own: an object item built field by field could miss a format (base64).
      const items = this.resolve(resolved.items ?? {});
      const item = items.example !== undefined || items.oneOf ? this.example(items, false) : undefined;
      return item === undefined ? (required ? [] : undefined) : [item];
    }
    if (resolved.format === 'uuid') return required ? this.ids.accountId : undefined;
    // Optional flags too: a body of flags only (PATCH /api/messages/{id}) needs one of them.
    if (resolved.type === 'boolean') return false;
    if (!required) return undefined;
    if (resolved.format === 'email') return 'alice@example.com';
    if (resolved.type === 'integer' || resolved.type === 'number') return resolved.minimum ?? 1;
    return 'x';
  }

  private resolve(schema: Schema): Schema {
    if (schema.$ref) return this.resolve(this.document.components.schemas[schema.$ref.split('/').pop() ?? ''] ?? {});
    if (schema.allOf?.length === 1 && schema.allOf[0])
      return { ...this.resolve(schema.allOf[0]), ...schema, allOf: undefined };
    return schema;
  }
}

/** Without an unpaired surrogate, which encodeURIComponent refuses to encode. */
function isWellFormed(value: string): boolean {
  return !/\p{Cs}/u.test(value);
}

/** Strings no text field admits: U+0000 or an unpaired surrogate, among control and other characters. */
export function unstorableString(): Arbitrary<string> {
  const poison = fc.constantFrom('\u0000', '\ud800', '\udfff', '\ud83d', '\ude00x');
  const around = fc.string({
    unit: fc.oneof(
      fc.constantFrom('\t', '\n', '\r', '\u0001', '\u001f', '\u007f', '\u0085', '\u2028', '\ufeff', '\ufffd'),
      fc.constantFrom('a', 'é', '日', '😀'),
    ),
    maxLength: 12,
  });
  return fc.tuple(around, poison, around).map(([before, bad, after]) => `${before}${bad}${after}`);
}

/** Arrays or objects nested deeper than the API allows (MAX_JSON_DEPTH = 16), up to 100,000 levels. */
function deeplyNested(): Arbitrary<unknown> {
  return fc
    .oneof(fc.integer({ min: 17, max: 200 }), fc.integer({ min: 1000, max: 100_000 }))
    .map((depth) => new DeepJson(depth));
}

/** Serialized by hand: JSON.stringify would recurse 100,000 levels. */
class DeepJson {
  constructor(readonly depth: number) {}
  toText(): string {
    return `${'[{"a":'.repeat(Math.floor(this.depth / 2))}${'['.repeat(this.depth % 2)}1${']'.repeat(this.depth % 2)}${'}]'.repeat(Math.floor(this.depth / 2))}`;
  }
}

function serialize(value: unknown): string {
  if (value instanceof DeepJson) return value.toText();
  if (value !== null && typeof value === 'object') {
    const deep = Object.entries(value as Record<string, unknown>).find(([, item]) => item instanceof DeepJson);
    if (deep) {
      const [name, item] = deep;
      return JSON.stringify({ ...value, [name]: '\u0001DEEP\u0001' }).replace(
        '"\\u0001DEEP\\u0001"',
        (item as DeepJson).toText(),
      );
    }
  }
  return JSON.stringify(value);
}

function describeValue(value: unknown): string {
  if (value instanceof DeepJson) return `nested ${value.depth} levels`;
  const text = serialize(value);
  return text.length > 80 ? `${text.slice(0, 60)}… (${text.length} characters)` : text;
}

function jsonValue(): Arbitrary<unknown> {
  return fc.jsonValue({ maxDepth: 3 });
}

function isAdmittedNumber(text: string, schema: Schema): boolean {
  if (text.trim() === '') return false;
  const value = Number(text);
  if (!Number.isFinite(value) || (schema.type === 'integer' && !Number.isInteger(value))) return false;
  return (
    (schema.minimum === undefined || value >= schema.minimum) &&
    (schema.maximum === undefined || value <= schema.maximum)
  );
}

function hostilePathValue(): Arbitrary<[string, string]> {
  return fc.oneof(
    unstorableString()
      .filter(isWellFormed)
      .map((value): [string, string] => [encodeURIComponent(value), JSON.stringify(value)]),
    fc.constantFrom<[string, string]>(
      ['%ED%A0%80', 'UTF-8 bytes of U+D800'],
      ['%00', 'U+0000'],
      ['%', 'a lone %'],
      ['..', '..'],
      ['%2e%2e%2f', 'encoded ../'],
      ['a'.repeat(5000), '5000 characters'],
    ),
    fc
      .string({ minLength: 1, maxLength: 40 })
      .map((value): [string, string] => [encodeURIComponent(`x${value}`), JSON.stringify(`x${value}`)]),
  );
}

/**
 * Idempotency-Key values outside its 1-255 printable ASCII characters, which node:http can send
 * (it refuses control characters, which the raw-socket cases cover).
 */
function hostileHeaderValue(): Arbitrary<[string, string]> {
  return fc.oneof(
    fc
      .constantFrom('', ' ', 'é', 'ÿ\u00a0', 'a b', 'key 2')
      .map((value): [string, string] => [value, JSON.stringify(value)]),
    fc.integer({ min: 256, max: 4000 }).map((length): [string, string] => ['k'.repeat(length), `${length} characters`]),
  );
}

function unknownQueryParameter(operation: Operation): Arbitrary<[string, string]> {
  const known = new Set(operation.parameters.map((parameter) => parameter.name));
  return fc.oneof(
    fc
      .constantFrom(
        '__proto__=1',
        '__proto__[polluted]=1',
        'constructor=1',
        'constructor[prototype][polluted]=1',
        'a[b][c]=1',
        'a.b=1',
        'toString=1',
      )
      .map((raw): [string, string] => [raw, raw]),
    fc
      .tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 12 }))
      .filter(([name]) => !known.has(name))
      .map(([name, value]): [string, string] => [
        `${encodeURIComponent(name)}=${encodeURIComponent(value)}`,
        JSON.stringify(name),
      ]),
  );
}

/** Multipart uploads whose parts cannot be stored, and bodies that are not multipart at all. */
function hostileMultipart(): Arbitrary<Pick<HostileRequest, 'headers' | 'body' | 'what'>> {
  const file = (disposition: string, contentType = 'text/plain') => ({
    disposition,
    contentType,
    content: Buffer.from('hello'),
  });
  return fc.oneof(
    unstorableString()
      .filter(isWellFormed)
      .map((name) => ({
        ...multipart([file(`form-data; name="file"; filename*=UTF-8''${encodeURIComponent(name)}`)]),
        what: `filename ${JSON.stringify(name)}`,
      })),
    fc.constantFrom('%ED%A0%80', '%00', 'a%0D%0Ab').map((raw) => ({
      ...multipart([file(`form-data; name="file"; filename*=UTF-8''${raw}`)]),
      what: `filename* ${raw}`,
    })),
    fc.constant({
      ...multipart([
        {
          disposition: 'form-data; name="file"; filename="a\u0000b.txt"',
          contentType: 'text/plain',
          content: Buffer.from('x'),
        },
      ]),
      what: 'raw U+0000 in a filename',
    }),
    fc.constant({
      ...multipart([
        {
          disposition: 'form-data; name="a\u0000b"; filename="report.txt"',
          contentType: 'text/plain',
          content: Buffer.from('x'),
        },
      ]),
      what: 'raw U+0000 in a part name',
    }),
    fc.constant({
      ...multipart([{ disposition: 'form-data; name="note"', content: Buffer.from('\u0000') }]),
      what: 'a form field instead of a file',
    }),
    fc.constant({
      ...multipart([file('form-data; name="file"; filename="report.txt"', 'text/plain\u0000')]),
      what: 'U+0000 in a part Content-Type',
    }),
    fc.constant({
      headers: { 'content-type': 'application/json' },
      body: '{"file":"x"}',
      what: 'JSON instead of multipart',
    }),
  );
}

function multipart(
  parts: { disposition: string; contentType?: string; content: Buffer }[],
): Pick<HostileRequest, 'headers' | 'body'> {
  const boundary = `----hostile-${randomUUID()}`;
  const chunks = parts.flatMap((part) => [
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: ${part.disposition}\r\n${part.contentType ? `Content-Type: ${part.contentType}\r\n` : ''}\r\n`,
    ),
    part.content,
    Buffer.from('\r\n'),
  ]);
  return {
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    body: Buffer.concat([...chunks, Buffer.from(`--${boundary}--\r\n`)]),
  };
}

function withQuery(url: string, name: string, raw: string): string {
  const stripped = withoutQuery(url, name);
  return `${stripped}${stripped.includes('?') ? '&' : '?'}${encodeURIComponent(name)}=${raw.replace('{name}', encodeURIComponent(name))}`;
}

function withoutQuery(url: string, name: string): string {
  const [path, query] = url.split('?');
  const kept = (query ?? '')
    .split('&')
    .filter((pair) => pair !== '' && pair.split('=')[0] !== encodeURIComponent(name));
  return kept.length > 0 ? `${path}?${kept.join('&')}` : (path ?? '');
}

export interface RefusalCheck {
  status: number;
  /** Why the answer is not a refusal with the API's error body, or null when it is one. */
  problem: string | null;
}

/** The keys of the API's error body; `code` and `details` are optional. */
const ERROR_KEYS = new Set(['statusCode', 'error', 'message', 'requestId', 'details', 'code']);

/**
 * Sends `request` to the API at `baseUrl` and checks the answer is a 4xx with the JSON error body.
 * Over node:http rather than fetch: the API answers 413 as soon as Content-Length is over the
 * limit and closes the connection, and fetch reports the unsent rest of the body as a failure.
 */
export async function sendHostile(
  baseUrl: string,
  request: HostileRequest,
  authorization: string,
): Promise<RefusalCheck> {
  const response = await sendRequest(baseUrl, request, authorization);
  const text = response.body;
  const status = response.status;
  if (status < 400 || status >= 500) return { status, problem: `answered ${status}: ${text.slice(0, 300)}` };
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { status, problem: `answered ${status} without a JSON body: ${text.slice(0, 300)}` };
  }
  const keys = Object.keys(body);
  const wellFormed =
    body.statusCode === status &&
    typeof body.error === 'string' &&
    typeof body.message === 'string' &&
    typeof body.requestId === 'string' &&
    body.requestId === response.headers['x-request-id'] &&
    keys.every((key) => ERROR_KEYS.has(key));
  return {
    status,
    problem: wellFormed ? null : `answered ${status} with a body that is not the error body: ${text.slice(0, 300)}`,
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export function sendRequest(baseUrl: string, request: HostileRequest, authorization: string): Promise<RawResponse> {
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  return new Promise((resolve, reject) => {
    const outgoing = http.request(`${baseUrl}${request.url}`, {
      method: request.method,
      headers: { authorization, ...request.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
    });
    let answered = false;
    outgoing.on('response', (incoming) => {
      answered = true;
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        if (request.oversized) outgoing.destroy();
        resolve({
          status: incoming.statusCode ?? 0,
          headers: incoming.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
      incoming.on('error', reject);
    });
    // The connection closed after an answer is no failure of the request.
    outgoing.on('error', (error) => {
      if (!answered) reject(error);
    });
    // The API answers 413 from Content-Length alone and closes the connection: a body written
    // meanwhile would fail before the answer is read, so only the headers go out.
    if (request.oversized) outgoing.flushHeaders();
    else outgoing.end(body);
  });
}
