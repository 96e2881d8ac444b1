import { SecretScope } from '../generated/prisma/enums.js';
import { builder } from './builder.js';

/** GraphQL types more than one feature shows (registered once, here). */

export const SecretScopeEnum = builder.enumType(SecretScope, {
  name: 'SecretScope',
  description:
    'ACCOUNT: the whole deployment (admins). PROJECT: one project (its owner and admins). USER: one user (that user and admins).',
});
