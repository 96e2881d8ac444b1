/**
 * Reference server: bare graphql-yoga with a one-field schema, default plugins, logging off.
 * What any yoga server costs per request before doing anything; Coffer's rows are compared with it.
 */
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';
import { listenAndReport } from './reference-server.js';

const yoga = createYoga({
  schema: createSchema({ typeDefs: 'type Query { hello: String }' }),
  graphiql: false,
  logging: false,
});

await listenAndReport(createServer((req, res) => void yoga(req, res)));
