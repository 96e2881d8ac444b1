import Stripe from 'stripe';
import type { Config } from '../../../config.js';

/** The API version Coffer is written against; webhook endpoints are pinned to it too. */
export const STRIPE_API_VERSION = '2026-10-28.endive' as const;

/**
 * A client for one key. STRIPE_API_BASE points the official SDK at an emulator (the tests'
 * fake Stripe) through its host/port/protocol options.
 */
export function createStripeClient(
  key: string,
  config: Pick<Config, 'stripeApiBase'>,
  options: { maxNetworkRetries?: number; timeoutMs?: number } = {},
): Stripe {
  const base = config.stripeApiBase ? new URL(config.stripeApiBase) : null;
  return new Stripe(key, {
    apiVersion: STRIPE_API_VERSION,
    maxNetworkRetries: options.maxNetworkRetries ?? 1,
    timeout: options.timeoutMs ?? 10_000,
    telemetry: false,
    appInfo: { name: 'Coffer' },
    ...(base
      ? {
          host: base.hostname,
          port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)),
          protocol: base.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
  });
}
