import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration from the environment', () => {
  it('has defaults that need nothing set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      logLevel: 'info',
      publicUrl: 'http://127.0.0.1:4000',
    });
    expect(config.dataDir).toMatch(/\.coffer$/);
  });

  it('lists every bad variable by name, without echoing secret values', () => {
    const secretish = 'not-a-coffer-key-SECRET';
    let error: unknown;
    try {
      loadConfig({
        PORT: 'abc',
        DATABASE_URL: 'mysql://x',
        LOG_LEVEL: 'loud',
        COFFER_ADMIN_API_KEY: secretish,
        COFFER_TOKEN_SECRET: 'short',
        REDIS_URL: 'http://x',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'COFFER_ADMIN_API_KEY', 'COFFER_TOKEN_SECRET', 'REDIS_URL'])
      expect(message).toContain(name);
    expect(message).not.toContain(secretish);
  });

  it('refuses a missing or malformed TRUSTED_DOCUMENTS manifest at start-up', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-manifest-'));
    const malformed = join(dir, 'bad.json');
    writeFileSync(malformed, '{"sha256:abc": 42}');
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, 'query { me { id } }');
    for (const path of [join(dir, 'missing.json'), malformed, notJson]) {
      expect(() => loadConfig({ TRUSTED_DOCUMENTS: path })).toThrow(ConfigError);
      expect(() => loadConfig({ TRUSTED_DOCUMENTS: path })).toThrow(/TRUSTED_DOCUMENTS/);
    }
    const good = join(dir, 'good.json');
    writeFileSync(good, '{"sha256:abc": "query Me { me { id } }"}');
    expect(loadConfig({ TRUSTED_DOCUMENTS: good }).trustedDocuments?.byHash.get('sha256:abc')).toBe('query Me { me { id } }');
  });

  it('needs issuer and audience with a JWKS URL', () => {
    expect(() => loadConfig({ JWKS_URL: 'https://id.test/jwks.json' })).toThrow(/JWT_ISSUER[\s\S]*JWT_AUDIENCE/);
  });

  it('takes postgres URLs and strips a trailing slash from PUBLIC_URL', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u@db:5432/coffer', PUBLIC_URL: 'https://coffer.example.com/' });
    expect(config.databaseUrl).toBe('postgres://u@db:5432/coffer');
    expect(config.publicUrl).toBe('https://coffer.example.com');
  });
});
