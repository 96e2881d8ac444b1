import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError, type MaskError } from 'graphql-yoga';
import { KeyringUnavailableError } from '../keyring/index.js';
import { serviceUnavailable } from './errors.js';

/**
 * Domain errors become coded GraphQL errors here, in one place; anything else unexpected is
 * masked by Yoga ("Unexpected error.", code INTERNAL_SERVER_ERROR) and logged.
 */
function toCoded(error: unknown): GraphQLError | null {
  if (error instanceof KeyringUnavailableError) {
    return serviceUnavailable('Stored values cannot be read right now (the keyring is unavailable); an operator has been told in the log.', { reason: error.problem.code });
  }
  return null;
}

export const maskError: MaskError = (error, message, isDev) => {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  const coded = toCoded(original);
  if (!coded) return yogaMaskError(error, message, isDev);
  if (error instanceof GraphQLError) {
    return new GraphQLError(coded.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, extensions: coded.extensions });
  }
  return coded;
};
