import { z } from 'zod';
import { actorOf } from '../../auth/index.js';
import { builder } from '../../graphql/builder.js';
import type { Context } from '../../graphql/context.js';
import type { TermState } from '../../keyring/index.js';
import { listMasterKeys, purgeRetiredMasterKeys, rotateMasterKey, rotateRootKey } from './master-keys.service.js';

const MasterKeyStateEnum = builder.enumType('MasterKeyState', {
  values: {
    ACTIVE: { description: 'Wraps the data keys of new writes.' },
    DECRYPT_ONLY: { description: 'Still wraps some data keys; a rotation moves them to the active term.' },
    RETIRED: { description: 'Wraps nothing and takes no writes; kept until purgeRetiredMasterKeys.' },
  } as const,
});

type Term = { id: string; state: TermState; rootKeyId: string; createdAt: Date; activatedAt: Date | null; retiredAt: Date | null };

const MasterKeyRef = builder.objectRef<Term>('MasterKey').implement({
  description: 'One term of the keyring (a master key, stored in the database sealed by the root key). Never its material.',
  fields: (t) => ({
    id: t.exposeID('id'),
    state: t.expose('state', { type: MasterKeyStateEnum }),
    rootKeyId: t.exposeString('rootKeyId', { description: 'Fingerprint of the root key sealing it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    activatedAt: t.expose('activatedAt', { type: 'DateTime', nullable: true }),
    retiredAt: t.expose('retiredAt', { type: 'DateTime', nullable: true }),
  }),
});

type Rotation = { activeKeyId: string; rewrapped: number; remaining: number; retiredKeyIds: string[] };

const RotationResult = builder.objectRef<Rotation>('MasterKeyRotation').implement({
  fields: (t) => ({
    activeKeyId: t.exposeString('activeKeyId'),
    rewrapped: t.exposeInt('rewrapped', { description: 'Data keys re-wrapped by this call.' }),
    remaining: t.exposeInt('remaining', { description: 'Data keys still under older terms (0 when done; call again to resume).' }),
    retiredKeyIds: t.exposeStringList('retiredKeyIds', {
      description: 'Terms nothing uses any more, now retired: kept in the keyring (backups need them) until purgeRetiredMasterKeys.',
    }),
  }),
});

const PurgeResult = builder.objectRef<{ purgedKeyIds: string[]; note: string }>('MasterKeyPurge').implement({
  fields: (t) => ({
    purgedKeyIds: t.exposeStringList('purgedKeyIds'),
    note: t.exposeString('note', { description: 'What the purge means for backups.' }),
  }),
});

type RootKeyRotation = { rootKeyId: string; resealedTerms: number; previousRootKeyIds: string[] };

const RootKeyRotationResult = builder.objectRef<RootKeyRotation>('RootKeyRotation').implement({
  fields: (t) => ({
    rootKeyId: t.exposeString('rootKeyId', { description: 'Fingerprint of the root key that now seals the keyring.' }),
    resealedTerms: t.exposeInt('resealedTerms'),
    previousRootKeyIds: t.exposeStringList('previousRootKeyIds', {
      description: 'Root keys no longer needed (remove them from configuration).',
    }),
  }),
});

builder.queryFields((t) => ({
  masterKeys: t.field({
    type: [MasterKeyRef],
    description: 'The keyring: every master key term, oldest first (admins only).',
    resolve: (_root, _args, ctx) => listMasterKeys({ db: ctx.db }),
  }),
}));

const keyringDeps = (ctx: Context) => ({ db: ctx.db, keyring: ctx.keyring, actor: actorOf(ctx) });

builder.mutationFields((t) => ({
  rotateMasterKey: t.field({
    type: RotationResult,
    description:
      'With `generateNewKey`, adds a new active master key term first; then re-wraps data keys under the active term in batches ' +
      'and retires the terms nothing uses (admins only).',
    args: {
      generateNewKey: t.arg.boolean({ required: false, defaultValue: false }),
      maxBatches: t.arg.int({ required: false, validate: { schema: z.number().int().min(1).max(10_000) } }),
    },
    resolve: (_root, args, ctx) =>
      rotateMasterKey({ ...keyringDeps(ctx), generateNewKey: args.generateNewKey ?? false, maxBatches: args.maxBatches ?? undefined }),
  }),
  purgeRetiredMasterKeys: t.field({
    type: PurgeResult,
    description: 'Deletes retired master key terms for good (admins only). CONFLICT, deleting nothing, while any data key still uses one.',
    resolve: (_root, _args, ctx) => purgeRetiredMasterKeys(keyringDeps(ctx)),
  }),
  rotateRootKey: t.field({
    type: RootKeyRotationResult,
    description:
      'Re-seals the keyring under a new root key (admins only): `generate` with the generated DATA_DIR/root-key, ' +
      'else the first configured root key.',
    args: { generate: t.arg.boolean({ required: false, defaultValue: false }) },
    resolve: (_root, args, ctx) => rotateRootKey({ ...keyringDeps(ctx), generate: args.generate ?? false }),
  }),
}));
