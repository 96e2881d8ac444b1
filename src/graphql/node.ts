import type { ObjectRef } from '@pothos/core';
import { chain } from 'graphql-shield';
import { z } from 'zod';
import { signedIn } from '../auth/index.js';
import { isUuid } from '../db/ids.js';
import { builder } from './builder.js';
import type { Context } from './context.js';
import { admitsMachines, type FeaturePermissions } from './permissions.js';

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

interface NodeShape {
  id: string;
}

/**
 * The objects among `ids` that the viewer may see through the type's own fields; the rest are
 * left out (node(id:) answers null, exactly as for an id that names nothing: no existence oracle).
 * `ids` are UUIDs.
 */
export type VisibleNodes<Shape extends NodeShape> = (ctx: Context, ids: string[]) => Promise<Shape[]>;

const MAX_NODES = 100;

const sources: Array<{ typeName: string; visible: VisibleNodes<NodeShape> }> = [];
/** Which type each loaded object is: several types share a shape (Secret, SecretMetadata). */
const typeOf = new WeakMap<object, string>();

export const NodeRef = builder.interfaceRef<NodeShape>('Node').implement({
  description: 'An object that can be fetched again by its id alone with node(id:) (Relay). Ids are UUIDs, unique across every type.',
  fields: (t) => ({ id: t.exposeID('id') }),
  resolveType: (value) => typeOf.get(value) ?? null,
});

/**
 * Makes a type a Node: add `interfaces: [NodeRef]` to its implement() call and register, next to
 * it, who may see which objects (the same rule as the fields that return it):
 *
 *   registerNode(ProjectRef, (ctx, ids) => visibleProjects(ctx, ids));
 */
export function registerNode<Shape extends NodeShape>(ref: ObjectRef<Types, Shape>, visible: VisibleNodes<Shape>) {
  sources.push({ typeName: ref.name, visible: visible });
}

/** Ids are UUIDs (unique across tables): every Node type is asked for them, at most one query each. */
async function loadNodes(ctx: Context, ids: readonly string[]): Promise<Array<NodeShape | null>> {
  const wanted = [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
  const found = new Map<string, NodeShape>();
  if (wanted.length > 0) {
    const loaded = await Promise.all(sources.map(async ({ typeName, visible }) => ({ typeName, rows: await visible(ctx, wanted) })));
    for (const { typeName, rows } of loaded) {
      for (const row of rows) {
        typeOf.set(row, typeName);
        found.set(row.id.toLowerCase(), row);
      }
    }
  }
  return ids.map((id) => found.get(id.toLowerCase()) ?? null);
}

builder.queryFields((t) => ({
  node: t.field({
    type: NodeRef,
    nullable: true,
    description: 'Any object by its id; null when there is none or you may not see it.',
    args: { id: t.arg.id() },
    resolve: async (_root, { id }, ctx) => (await loadNodes(ctx, [String(id)]))[0] ?? null,
  }),
  nodes: t.field({
    type: [NodeRef],
    nullable: { list: false, items: true },
    description: 'Objects by id, in the order asked; null for each one there is none of or you may not see.',
    args: { ids: t.arg.idList({ validate: { schema: z.array(z.string()).max(MAX_NODES, `must be at most ${MAX_NODES} ids`) } }) },
    resolve: (_root, { ids }, ctx) => loadNodes(ctx, ids.map(String)),
  }),
}));

/**
 * Signed in (machine identities too): what each object is visible to is decided per type
 * (registerNode), and every type's visible function answers for machines from their grant.
 */
const signedInAsAnyone = admitsMachines(chain(signedIn));

export const nodePermissions: FeaturePermissions = { Query: { node: signedInAsAnyone, nodes: signedInAsAnyone } };
