import { InvalidArgumentError } from 'commander';
import { isUuid } from '../../db/ids.js';
import { isSyncObjectType, SYNC_OBJECT_TYPES } from '../../features/stripe/index.js';
import type { StripeEnvironment } from '../../generated/prisma/enums.js';

/** Commander argument parsers: a bad value is refused with one line before anything opens. */

export const parseEnvironment = (value: string): StripeEnvironment => {
  const environment = value.trim().toUpperCase();
  if (environment !== 'TEST' && environment !== 'LIVE') throw new InvalidArgumentError('must be test or live');
  return environment;
};

export const parseId = (what: string) => (value: string) => {
  if (!isUuid(value.trim())) throw new InvalidArgumentError(`must be a ${what} id (a UUID)`);
  return value.trim().toLowerCase();
};

export const parseObjects = (value: string): string[] => {
  const objects = value
    .split(',')
    .map((entry) => entry.trim().toLowerCase().replace(/-/g, '_'))
    .filter(Boolean);
  const unknown = objects.filter((entry) => !isSyncObjectType(entry));
  if (objects.length === 0 || unknown.length > 0) {
    const named = unknown.length > 0 ? `unknown: ${unknown.join(', ')}; ` : '';
    throw new InvalidArgumentError(`${named}choose among ${SYNC_OBJECT_TYPES.join(', ')}`);
  }
  return objects;
};
