export * from './envelope.js';
export * from './hmac.js';
export * from './keyring.js';
export * from './keyring-store.js';
