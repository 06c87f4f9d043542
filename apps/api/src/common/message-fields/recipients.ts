import type { MailAddress } from '@app/database';
import { asciiAddress } from '@app/mail';
import { isEmail, registerDecorator } from 'class-validator';
import type { ValidationArguments, ValidationOptions } from 'class-validator';
import addressparser from 'nodemailer/lib/addressparser';

const LINE_BREAK = /[\r\n]/;
const MAX_NAME_LENGTH = 200;
const MAX_ADDRESS_LENGTH = 320;

export type RecipientInput = string | { name?: unknown; address?: unknown };

export type RecipientParse = { ok: true; mailbox: MailAddress } | { ok: false; reason: string };

function checkAddress(address: string): string | null {
  if (address.length === 0) return 'an address is empty';
  if (address.length > MAX_ADDRESS_LENGTH) return `an address is longer than ${MAX_ADDRESS_LENGTH} characters`;
  if (LINE_BREAK.test(address)) return 'an address contains a line break';
  const at = address.lastIndexOf('@');
  // SMTPUTF8 (RFC 6531) is not assumed of the account's server: the local part must be ASCII;
  // international domains are sent as punycode.
  if (at > 0 && /[^\x20-\x7e]/.test(address.slice(0, at)))
    return `"${address}" has a non-ASCII local part, which servers without SMTPUTF8 cannot deliver`;
  let ascii: string;
  try {
    ascii = asciiAddress(address);
  } catch {
    return `"${address}" has an invalid domain`;
  }
  if (!isEmail(ascii, { allow_display_name: false, require_tld: false, allow_ip_domain: false }))
    return `"${address}" is not a valid email address`;
  return null;
}

/**
 * A recipient is either RFC 5322 text (`Bob <bob@example.com>`, `"Doe, Jane" <jane@example.com>`,
 * `bob@bücher.example`) or `{ name, address }`. Exactly one mailbox per entry; groups and lists
 * are refused so that a stray comma cannot add a recipient nobody meant to add.
 */
export function parseRecipient(value: unknown): RecipientParse {
  if (typeof value === 'string') {
    if (LINE_BREAK.test(value)) return { ok: false, reason: 'a recipient contains a line break' };
    const parsed = addressparser(value);
    const [first] = parsed;
    if (parsed.length !== 1 || !first || first.group !== undefined)
      return { ok: false, reason: `"${value}" must be exactly one address` };
    const problem = checkAddress(first.address);
    if (problem) return { ok: false, reason: problem };
    if (first.name.length > MAX_NAME_LENGTH)
      return { ok: false, reason: `a display name is longer than ${MAX_NAME_LENGTH} characters` };
    return { ok: true, mailbox: { name: first.name, address: first.address } };
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { name, address, ...rest } = value as { name?: unknown; address?: unknown };
    const unknownKeys = Object.keys(rest);
    if (unknownKeys.length > 0)
      return { ok: false, reason: `a recipient has unknown properties: ${unknownKeys.join(', ')}` };
    if (typeof address !== 'string') return { ok: false, reason: 'a recipient object needs an address string' };
    if (name !== undefined && name !== null && typeof name !== 'string')
      return { ok: false, reason: 'a recipient name must be a string' };
    const display = typeof name === 'string' ? name.trim() : '';
    if (LINE_BREAK.test(display)) return { ok: false, reason: 'a display name contains a line break' };
    if (display.length > MAX_NAME_LENGTH)
      return { ok: false, reason: `a display name is longer than ${MAX_NAME_LENGTH} characters` };
    const problem = checkAddress(address.trim());
    if (problem) return { ok: false, reason: problem };
    return { ok: true, mailbox: { name: display, address: address.trim() } };
  }
  return { ok: false, reason: 'a recipient must be a string or { name, address }' };
}

/** Parses a list already validated by @IsRecipientList. */
export function toMailboxes(values: readonly unknown[] | undefined): MailAddress[] {
  return (values ?? []).map((value) => {
    const parsed = parseRecipient(value);
    if (!parsed.ok) throw new Error(`unvalidated recipient: ${parsed.reason}`);
    return parsed.mailbox;
  });
}

export function IsRecipientList(maxEntries: number, options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isRecipientList',
      target: target.constructor,
      propertyName: String(propertyName),
      options,
      validator: {
        validate(value: unknown): boolean {
          return Array.isArray(value) && value.length <= maxEntries && value.every((entry) => parseRecipient(entry).ok);
        },
        defaultMessage(args: ValidationArguments): string {
          const value: unknown = args.value;
          if (!Array.isArray(value)) return `${args.property} must be a list of recipients`;
          if (value.length > maxEntries) return `${args.property} may hold at most ${maxEntries} recipients`;
          for (const entry of value) {
            const parsed = parseRecipient(entry);
            if (!parsed.ok) return `${args.property}: ${parsed.reason}`;
          }
          return `${args.property} is invalid`;
        },
      },
    });
  };
}
