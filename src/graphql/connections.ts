import type { InterfaceRef, ObjectRef } from '@pothos/core';
import { builder } from './builder.js';

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

const made = new Map<string, unknown>();

const make = <Shape>(node: ObjectRef<Types, Shape> | InterfaceRef<Types, Shape>, name: string) =>
  // The edge type gets connectionObject's own default name: `${name without Connection}Edge`.
  builder.connectionObject({ type: node, name });

/**
 * The connection type of a node type, named after it: `connectionOf(SecretMetadata, 'Secret')` is
 * `SecretConnection` with `SecretEdge`s (Pothos would name them after the field:
 * `QuerySecretsConnection`, `QuerySecretsConnectionEdge`). Every field listing that node type
 * shares the one type. `totalCount` and `nodes` come with every connection (see builder.ts).
 *
 *   items: t.connection({ type: Item, resolve: ... }, connectionOf(Item)),
 */
export function connectionOf<Shape>(node: ObjectRef<Types, Shape> | InterfaceRef<Types, Shape>, name: string = node.name) {
  const typeName = `${name}Connection`;
  let ref = made.get(typeName) as ReturnType<typeof make<Shape>> | undefined;
  if (!ref) {
    ref = make(node, typeName);
    made.set(typeName, ref);
  }
  return ref;
}
