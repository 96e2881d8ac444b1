import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format, inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  generateRootKey,
  KeyFileError,
  KeyringError,
  loadRootKeys,
  parseMasterKeys,
  parseRootKeys,
  ROOT_KEY_FILE,
  RootKeyError,
  rootKeyIdOf,
  serializeRootKeys,
  writeKeyFile,
} from '../../src/crypto/index.js';
import { findTrace } from '../support/leaks.js';

/**
 * How master keys are read and kept: a malformed COFFER_MASTER_KEYS is refused with a message
 * that names the key id and never the key material; the key file is for its owner's eyes only.
 */

const b64 = (bytes: Buffer) => bytes.toString('base64');

/** What `parseMasterKeys(text)` refused with; fails the test if it accepted the text. */
function refusal(text: string): KeyringError {
  try {
    parseMasterKeys(text);
  } catch (error) {
    expect(error).toBeInstanceOf(KeyringError);
    return error as KeyringError;
  }
  throw new Error(`parseMasterKeys accepted ${JSON.stringify(text)}`);
}

/** The message names nothing of the given key material, in any encoding. */
function expectNoMaterial(error: Error, ...materials: Array<string | Buffer>) {
  for (const material of materials) {
    expect(error.message).not.toContain(typeof material === 'string' ? material : b64(material));
    expect(findTrace(error.message, material), `${error.message} holds key material`).toBeNull();
    expect(findTrace(error.stack ?? '', material)).toBeNull();
  }
}

describe('parseMasterKeys refuses bad COFFER_MASTER_KEYS', () => {
  it('accepts well-formed keys, the first being active', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const keyring = parseMasterKeys(` k_new:${b64(a)} ,k_old:${b64(b)}\n`);
    expect(keyring.active.id).toBe('k_new');
    expect(keyring.keys.map((key) => key.id)).toEqual(['k_new', 'k_old']);
    expect(keyring.get('k_old').key.equals(b)).toBe(true);
  });

  it('refuses a 16-byte key, naming the key id, without the key material', () => {
    const material = randomBytes(16);
    const error = refusal(`k_short:${b64(material)}`);
    expect(error.message).toContain('"k_short"');
    expect(error.message).toMatch(/32 bytes/);
    expectNoMaterial(error, material, b64(material));
  });

  it('refuses a 33-byte key, naming the key id, without the key material', () => {
    const good = randomBytes(32);
    const material = randomBytes(33);
    const error = refusal(`k_good:${b64(good)},k_long:${b64(material)}`);
    expect(error.message).toContain('"k_long"');
    expect(error.message).toMatch(/32 bytes/);
    expectNoMaterial(error, material, b64(material), good);
  });

  it('refuses bad base64, naming the key id, without the key material', () => {
    const material = randomBytes(32);
    for (const garbled of [
      `${b64(material).slice(0, 20)}!*${b64(material).slice(20)}`,
      `${b64(material)} trailing`,
      `${b64(material)}===`,
      `${b64(material)}:${b64(material)}`,
    ]) {
      const error = refusal(`k_garbled:${garbled}`);
      expect(error.message).toContain('"k_garbled"');
      expect(error.message).toMatch(/base64/);
      expectNoMaterial(error, material, garbled, b64(material).slice(0, 20));
    }
  });

  it('refuses an empty key after the id, naming the key id', () => {
    const error = refusal('k_empty:');
    expect(error.message).toContain('"k_empty"');
  });

  it('refuses duplicate ids, naming the key id, without the key material', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const error = refusal(`k_twice:${b64(a)},k_twice:${b64(b)}`);
    expect(error.message).toContain('"k_twice"');
    expect(error.message).toMatch(/twice/);
    expectNoMaterial(error, a, b);
  });

  it('refuses bad ids (spaces, punctuation, over 64 characters) by entry position, quoting neither the id nor the key material', () => {
    // An invalid id may be key material in the wrong place, so it is named by position only.
    const material = randomBytes(32);
    for (const id of ['bad id', 'k.1', 'k/1', 'clé', 'k'.repeat(65)]) {
      const error = refusal(`k_ok:${b64(randomBytes(32))},${id}:${b64(material)}`);
      expect(error.message).toMatch(/entry 2/);
      expect(error.message).toMatch(/1-64 characters/);
      expect(error.message).not.toContain(`"${id.slice(0, 64)}"`);
      expectNoMaterial(error, material);
    }
  });

  it('refuses an entry without an id, by its position, without echoing the entry', () => {
    const material = randomBytes(32);
    for (const entry of [b64(material), `:${b64(material)}`]) {
      const error = refusal(`k_ok:${b64(randomBytes(32))},${entry}`);
      expect(error.message).toMatch(/entry 2/);
      expectNoMaterial(error, material);
    }
  });

  it('refuses an entry written key-first (<key>:<id>) without echoing the key it mistook for an id', () => {
    const material = randomBytes(32);
    for (const entry of [`${b64(material)}:k_swapped`, `${b64(material).replace(/=+$/, '')}:k_swapped`]) {
      const error = refusal(`k_ok:${b64(randomBytes(32))},${entry}`);
      expect(error.message).toMatch(/entry 2/);
      expect(error.message).toMatch(/<keyId>:<base64 key>/);
      expectNoMaterial(error, material);
    }
  });

  it('refuses a key-first entry whose key happens to be a valid id (unpadded, no + or /), without echoing it', () => {
    // About one key in four encodes without + or /: then it passes the id check, and the
    // refusal comes from the "key" (the real id) having the wrong size, still naming the id.
    let material = randomBytes(32);
    while (/[+/]/.test(b64(material))) material = randomBytes(32);
    const error = refusal(`${b64(material).replace(/=+$/, '')}:k_swapped`);
    expect(error.message).toMatch(/entry 1/);
    expectNoMaterial(error, material);
  });

  it('refuses an empty list', () => {
    for (const text of ['', ' ', ',', ' , ,\n']) {
      const error = refusal(text);
      expect(error.message).toMatch(/empty/);
    }
  });
});

describe('a keyring never prints its key material', () => {
  it('inspecting, JSON-serializing or string-formatting a keyring or the root keys shows ids only', async () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const keyring = parseMasterKeys(`k_a:${b64(a)},k_b:${b64(b)}`);
    const rootKeys = parseRootKeys(b64(a), 'COFFER_ROOT_KEY');
    const holders: Array<[unknown, string]> = [
      [keyring, 'k_a'],
      [rootKeys, rootKeyIdOf(a)],
      [{ nested: { keyring } }, 'k_b'],
    ];
    for (const [holder, id] of holders) {
      for (const text of [inspect(holder, { depth: 10, showHidden: true }), JSON.stringify(holder), format('%o', holder)]) {
        expect(text).toContain(id);
        for (const material of [a, b]) {
          expect(findTrace(text, material), text).toBeNull();
          // How util.inspect and JSON render a Buffer: "<Buffer 5b dc ...>" and {"data":[91,220,...]}.
          expect(text).not.toContain(
            Buffer.from(material.subarray(0, 8))
              .toString('hex')
              .replace(/(..)(?!$)/g, '$1 '),
          );
          expect(text).not.toContain([...material.subarray(0, 8)].join(','));
        }
      }
    }
  });
});

describe('the generated root key file (DATA_DIR/root-key)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-keyfile-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const modeOf = async (path: string) => (await stat(path)).mode & 0o777;
  const load = (dataDir = dir) => loadRootKeys({ dataDir });

  it('is created with mode 0600, and its directory with 0700 when created', async () => {
    const dataDir = join(dir, 'nested', 'data');
    const { rootKeys, source } = await load(dataDir);
    expect(source).toMatchObject({ kind: 'file', generated: true, managed: true, path: join(dataDir, ROOT_KEY_FILE) });
    expect(await modeOf(join(dataDir, ROOT_KEY_FILE))).toBe(0o600);
    expect(await modeOf(dataDir)).toBe(0o700);
    expect(await modeOf(join(dir, 'nested'))).toBe(0o700);
    expect(rootKeys.sealing.key.length).toBe(32);
  });

  it('is read back, not regenerated, on the next start', async () => {
    const first = await load();
    const second = await load();
    expect(second.source).toMatchObject({ generated: false });
    expect(second.rootKeys.sealing.id).toBe(first.rootKeys.sealing.id);
    expect(second.rootKeys.sealing.key.equals(first.rootKeys.sealing.key)).toBe(true);
  });

  it('two first starts racing keep one key: an existing file is never replaced by a generated one', async () => {
    const path = join(dir, ROOT_KEY_FILE);
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => load()));
    const onDisk = parseRootKeys(await readFile(path, 'utf8'), path);
    expect(onDisk.keys).toHaveLength(1);
    expect(
      results.every((result) => result.status === 'fulfilled'),
      JSON.stringify(results),
    ).toBe(true);
    const created = results.filter(
      (result) => result.status === 'fulfilled' && result.value.source.kind === 'file' && result.value.source.generated,
    );
    expect(created).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'fulfilled') expect(result.value.rootKeys.sealing.key.equals(onDisk.sealing.key)).toBe(true);
    }
    await expect(writeKeyFile(path, serializeRootKeys([generateRootKey()]), 'wx')).rejects.toMatchObject({ code: 'EEXIST' });
    expect(parseRootKeys(await readFile(path, 'utf8'), path).sealing.id).toBe(onDisk.sealing.id);
    // No temporary file with key material is left next to it.
    expect((await readdir(dir)).sort()).toEqual([ROOT_KEY_FILE]);
  });

  it('stays 0600 when rewritten (as a root-key rotation does)', async () => {
    const path = join(dir, ROOT_KEY_FILE);
    const { rootKeys } = await load();
    const next = generateRootKey();
    await writeKeyFile(path, serializeRootKeys([next, ...rootKeys.keys]));
    expect(await modeOf(path)).toBe(0o600);
    await writeKeyFile(path, serializeRootKeys([next]));
    expect(await modeOf(path)).toBe(0o600);
    expect(parseRootKeys(await readFile(path, 'utf8'), path).keys.map((key) => key.id)).toEqual([next.id]);
  });

  it('is refused when group-readable (chmod 640), with a message saying to chmod 600 and no key material', async () => {
    const path = join(dir, ROOT_KEY_FILE);
    await load();
    const contents = await readFile(path, 'utf8');
    await chmod(path, 0o640);
    const error = await load().then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(KeyFileError);
    const message = (error as Error).message;
    expect(message).toContain('chmod 600');
    expect(message).toContain(path);
    const material = contents.trim();
    expect(material.length).toBeGreaterThan(40);
    expectNoMaterial(error as Error, material, Buffer.from(material, 'base64'));
    // Refusing must not "fix" or replace the file behind the operator's back.
    expect(await readFile(path, 'utf8')).toBe(contents);
    expect(await modeOf(path)).toBe(0o640);
  });

  it('is refused when world-readable (chmod 604) too', async () => {
    await load();
    await chmod(join(dir, ROOT_KEY_FILE), 0o604);
    await expect(load()).rejects.toThrow(/chmod 600/);
  });

  it('with malformed contents (a 16-byte key, garbage) is refused without the key material', async () => {
    const path = join(dir, ROOT_KEY_FILE);
    for (const material of [randomBytes(16), Buffer.from(`${b64(randomBytes(32))}!!`)]) {
      await writeFile(path, `${material.length === 16 ? b64(material) : material.toString()}\n`, { mode: 0o600 });
      const error = await load().then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(RootKeyError);
      expectNoMaterial(error as Error, material, b64(material));
    }
  });
});

describe('COFFER_ROOT_KEY', () => {
  it('accepts one key, or several during a root-key rotation (the first seals)', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    expect(parseRootKeys(b64(a), 'COFFER_ROOT_KEY').sealing.id).toBe(rootKeyIdOf(a));
    const two = parseRootKeys(` ${b64(b)} ,${b64(a)}\n`, 'COFFER_ROOT_KEY');
    expect(two.keys.map((key) => key.id)).toEqual([rootKeyIdOf(b), rootKeyIdOf(a)]);
  });

  it('refuses a wrong size, bad base64, a duplicate and an empty value, naming the setting and never the material', () => {
    const material = randomBytes(32);
    const cases = [b64(randomBytes(16)), `${b64(material)}%%`, `${b64(material)},${b64(material)}`, ' , '];
    for (const text of cases) {
      let error: unknown = null;
      try {
        parseRootKeys(text, 'COFFER_ROOT_KEY');
      } catch (caught) {
        error = caught;
      }
      expect(error, text).toBeInstanceOf(RootKeyError);
      expect((error as Error).message).toMatch(/^COFFER_ROOT_KEY: /);
      expectNoMaterial(error as Error, material, b64(material));
    }
  });
});
