import { registerDecorator } from 'class-validator';
import type { ValidationOptions } from 'class-validator';

import { parseAllowedHosts, parsePortList } from '../outbound-rules.js';

/** OUTBOUND_ALLOWED_HOSTS (`hosts`) or OUTBOUND_ALLOWED_PORTS (`ports`), parsed the way loadConfig will. */
export function IsOutboundList(list: 'hosts' | 'ports', options: ValidationOptions): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: 'isOutboundList',
      target: target.constructor,
      propertyName: String(propertyName),
      options,
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && (list === 'hosts' ? parseAllowedHosts(value) : parsePortList(value)) !== null,
      },
    });
  };
}
