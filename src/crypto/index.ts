export * from './envelope.js';
export * from './hmac.js';
export * from './keyring.js';
export * from './root-key.js';
export * from './sealed-columns.js';
export * from './secret-files.js';
