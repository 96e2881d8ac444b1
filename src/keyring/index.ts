export {
  KeyringChangedError,
  KeyringStore,
  KeyringUnavailableError,
  type KeyringProblem,
  type KeyringProblemCode,
} from './keyring-store.js';
export { readLegacyKeys, setUpKeyring, type LegacyKeys } from './keyring-setup.js';
export { keyIdQueries, rewrapEach, type Rewrap, type SealedRows } from './sealed-rows.js';
export {
  addActiveTerm,
  describeTerms,
  purgeRetiredTerms,
  resealTerms,
  retireUnusedTerms,
  TermsInUseError,
  type TermState,
} from './terms.js';
