/** The fake Stripe lives in ./fake-stripe/; this path stays for existing imports. */
export * from './fake-stripe/index.js';
