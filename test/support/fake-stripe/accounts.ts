/** Connected accounts of the fake (`GET /v1/account`) and the options for them and their keys. */
import { randomAlnum, type KeyKind, type KeyPermissions, type Mode } from './http.js';

export interface AddAccountOptions {
  id?: string;
  name?: string;
  country?: string;
  email?: string;
  chargesEnabled?: boolean;
}
export interface AddKeyOptions {
  mode?: Mode;
  kind?: KeyKind;
  /** Restricted keys only; secret keys can do everything. */
  permissions?: KeyPermissions;
}

export interface FakeAccount {
  id: string;
  object: 'account';
  type: 'standard';
  business_profile: { name: string | null; url: string | null; support_email: string | null };
  settings: { dashboard: { display_name: string | null; timezone: string } };
  charges_enabled: boolean;
  payouts_enabled: boolean;
  details_submitted: boolean;
  country: string;
  default_currency: string;
  email: string;
  created: number;
}

export function newAccount(options: AddAccountOptions, created: number): FakeAccount {
  const { id, name = 'Fake Stripe Account', country = 'US', email, chargesEnabled = true } = options;
  const accountId = id ?? `acct_1${randomAlnum(15)}`;
  if (!accountId.startsWith('acct_')) throw new Error(`fake stripe: account ids start with acct_, got ${accountId}`);
  return {
    id: accountId,
    object: 'account',
    type: 'standard',
    business_profile: { name, url: null, support_email: null },
    settings: { dashboard: { display_name: name, timezone: 'Etc/UTC' } },
    charges_enabled: chargesEnabled,
    payouts_enabled: chargesEnabled,
    details_submitted: true,
    country,
    default_currency: country === 'US' ? 'usd' : 'eur',
    email: email ?? `owner+${accountId}@example.com`,
    created,
  };
}
