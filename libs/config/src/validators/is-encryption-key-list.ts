import { registerDecorator } from 'class-validator';
import type { ValidationOptions } from 'class-validator';

import { decodeEncryptionKey } from '../encryption-key.js';

/** Accepts one key, or (with `single: false`) a comma-separated list of keys. */
export function IsEncryptionKeyList(options: ValidationOptions & { single: boolean }): PropertyDecorator {
  const { single, ...validationOptions } = options;
  return (target, propertyName) => {
    registerDecorator({
      name: 'isEncryptionKeyList',
      target: target.constructor,
      propertyName: String(propertyName),
      options: validationOptions,
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'string' || value.trim() === '') return false;
          const entries = value.split(',').map((entry) => entry.trim());
          if (single && entries.length !== 1) return false;
          return entries.every((entry) => decodeEncryptionKey(entry) !== null);
        },
      },
    });
  };
}
