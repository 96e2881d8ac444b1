import {
  DecryptionError,
  encryptValue,
  Keyring,
  UnknownRootKeyError,
  type AssociatedData,
  type RootKeys,
  type RootKeySource,
  type Sealed,
} from '../crypto/index.js';
import type { Database } from '../db/database.js';
import { CofferError } from '../errors.js';
import { RESYNC, type ClusterSignals } from '../events/signals.js';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import type { SealedRows } from './sealed-rows.js';
import { holdWritableTerm, listTerms } from './terms.repository.js';

type Db = PrismaClient | Prisma.TransactionClient;

/** Why values cannot be read: the process stays up but is not ready, and says this in its log. */
export type KeyringProblemCode = 'ROOT_KEY_MISMATCH' | 'KEYRING_TAMPERED' | 'KEYRING_TERM_MISSING' | 'KEYRING_NO_ACTIVE_TERM';

export interface KeyringProblem {
  code: KeyringProblemCode;
  /** Names term and root-key ids only: safe to log and to show. */
  message: string;
}

/** Reads and writes of values while the keyring has a problem: retryable, and the operator is told in the log. */
export class KeyringUnavailableError extends CofferError {
  override name = 'KeyringUnavailableError';
  constructor(readonly problem: KeyringProblem) {
    super(
      'SERVICE_UNAVAILABLE',
      'Stored values cannot be read right now (the keyring is unavailable); an operator has been told in the log.',
      {
        reason: problem.code,
        retryable: true,
      },
    );
  }
}

/** The term a write used was retired meanwhile (another process rotated): write again under the active one. */
export class KeyringChangedError extends Error {
  override name = 'KeyringChangedError';
}

export interface KeyringStoreDeps {
  db: Database;
  rootKeys: RootKeys;
  rootKeySource: RootKeySource;
  sealedRows: readonly SealedRows[];
  signals: ClusterSignals;
  logger: Logger;
  /** Safety net behind the change notifications. */
  refreshMs: number;
}

/** Readiness asks again while a problem lasts, but not on every probe. */
const RECHECK_MS = 5_000;

/**
 * The keyring as this process holds it: every term of `keyring_terms`, unsealed with the root
 * key. Every process reads the same rows, so they cannot disagree for long: a term it does not
 * hold makes it reload once, and a rotation anywhere makes every process reload within seconds.
 */
export class KeyringStore {
  private ring: Keyring | null = null;
  private problemNow: KeyringProblem | null = null;
  private reloading: Promise<void> | null = null;
  private lastCheck = 0;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private deps: KeyringStoreDeps) {}

  get rootKeys(): RootKeys {
    return this.deps.rootKeys;
  }

  get rootKeySource(): RootKeySource {
    return this.deps.rootKeySource;
  }

  /** The tables whose rows hold data keys wrapped by terms. */
  get sealedRows(): readonly SealedRows[] {
    return this.deps.sealedRows;
  }

  /** What makes values unreadable now, or null. */
  get problem(): KeyringProblem | null {
    return this.problemNow;
  }

  /**
   * The keyring for encrypting and decrypting; KeyringUnavailableError while it cannot be trusted
   * (wrong root key, damaged rows). A missing term affects only the values under it.
   */
  get current(): Keyring {
    const blocking = this.problemNow?.code === 'KEYRING_TERM_MISSING' ? null : this.problemNow;
    if (blocking || !this.ring)
      throw new KeyringUnavailableError(blocking ?? { code: 'KEYRING_NO_ACTIVE_TERM', message: 'The keyring is not loaded.' });
    return this.ring;
  }

  /** A keyring holding `termId`, reloading once if this process has not seen that term yet. */
  async holding(termId: string, db: Db = this.deps.db.prisma): Promise<Keyring> {
    if (this.ring?.has(termId)) return this.current;
    await this.reload(db);
    const ring = this.current;
    if (!ring.has(termId)) {
      this.report({
        code: 'KEYRING_TERM_MISSING',
        message: `Stored data is wrapped by master key term ${termId}, which the keyring does not hold.`,
      });
      throw new KeyringUnavailableError(this.problemNow as KeyringProblem);
    }
    return ring;
  }

  /**
   * Encrypts under the active term and holds that term against retirement until `tx` ends.
   * KeyringChangedError when it was retired meanwhile: run the write again through `retrying`.
   */
  async seal(tx: Prisma.TransactionClient, plaintext: Buffer | string, aad: AssociatedData): Promise<Sealed> {
    const sealed = encryptValue(this.current, plaintext, aad);
    if (!(await holdWritableTerm(tx, sealed.keyId))) throw new KeyringChangedError('The active master key term changed during this write.');
    return sealed;
  }

  /** Runs a write; if its term was retired meanwhile, reloads and runs it once more. */
  async retrying<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof KeyringChangedError)) throw error;
      await this.reload();
      return work();
    }
  }

  /** Reads every term again (concurrent callers share one read). A read that fails keeps what is held. */
  reload(db: Db = this.deps.db.prisma): Promise<void> {
    this.reloading ??= this.load(db).finally(() => (this.reloading = null));
    return this.reloading;
  }

  /** Full check: every term unseals, one is active, and every stored data key's term is held. */
  async verify(): Promise<KeyringProblem | null> {
    this.lastCheck = Date.now();
    await this.reload();
    if (this.problemNow && this.problemNow.code !== 'KEYRING_TERM_MISSING') return this.problemNow;
    const held = new Set(this.ring?.keys.map((key) => key.id) ?? []);
    const inUse = new Set((await Promise.all(this.deps.sealedRows.map((rows) => rows.termsInUse(this.deps.db)))).flat());
    const missing = [...inUse].filter((id) => !held.has(id)).sort();
    if (missing.length > 0) {
      this.report({
        code: 'KEYRING_TERM_MISSING',
        message: `Stored data is wrapped by master key terms the keyring does not hold: ${missing.join(', ')}.`,
      });
    } else if (this.problemNow?.code === 'KEYRING_TERM_MISSING') {
      this.problemNow = null;
    }
    return this.problemNow;
  }

  /** For readiness: ok, or the problem (checked again at most every few seconds while it lasts). */
  async readiness(): Promise<KeyringProblem | null> {
    if (this.problemNow && Date.now() - this.lastCheck > RECHECK_MS) await this.verify().catch(() => undefined);
    return this.problemNow;
  }

  /** After this process changed `keyring_terms`: reload, and tell the others. */
  async changed(): Promise<void> {
    await this.reload();
    await this.deps.signals.publish('keyring', 'changed');
  }

  /** Root-key rotation hands the new root keys over before re-sealing. */
  useRootKeys(rootKeys: RootKeys): void {
    this.deps = { ...this.deps, rootKeys };
  }

  startRefreshing(): void {
    this.unsubscribe ??= this.deps.signals.subscribe('keyring', (message) => {
      this.reload().catch(() => undefined);
      if (message === RESYNC) this.deps.logger.debug('keyring: signal connection regained; reloaded');
    });
    this.timer ??= setInterval(() => void this.reload().catch(() => undefined), this.deps.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private async load(db: Db): Promise<void> {
    let rows;
    try {
      rows = await listTerms(db);
    } catch (error) {
      this.deps.logger.warn(
        { err: { type: (error as Error).name, message: (error as Error).message } },
        'keyring: could not read the keyring; keeping the one held',
      );
      throw error;
    }
    const foreign: string[] = [];
    const damaged: string[] = [];
    const keys = rows.flatMap((row) => {
      try {
        return [
          {
            id: row.id,
            key: this.deps.rootKeys.unseal(row.id, row.rootKeyId, Buffer.from(row.sealedKey)),
            active: row.activeSlot !== null,
          },
        ];
      } catch (error) {
        if (error instanceof UnknownRootKeyError) foreign.push(`${row.id} (sealed by ${row.rootKeyId})`);
        else if (error instanceof DecryptionError) damaged.push(row.id);
        else throw error;
        return [];
      }
    });
    if (foreign.length > 0) {
      const configured = this.deps.rootKeys.keys.map((key) => key.id).join(', ');
      return this.report({
        code: 'ROOT_KEY_MISMATCH',
        message: `The root key cannot unseal the keyring: terms ${foreign.join(', ')}; configured root keys: ${configured}.`,
      });
    }
    if (damaged.length > 0)
      return this.report({
        code: 'KEYRING_TAMPERED',
        message: `Keyring terms failed their integrity check (altered or moved rows): ${damaged.join(', ')}.`,
      });
    const active = keys.find((key) => key.active);
    if (!active) return this.report({ code: 'KEYRING_NO_ACTIVE_TERM', message: 'The keyring has no active term.' });
    this.ring = new Keyring([active, ...keys.filter((key) => key !== active)].map(({ id, key }) => ({ id, key })));
    if (this.problemNow && this.problemNow.code !== 'KEYRING_TERM_MISSING') {
      this.deps.logger.info({ keyring: this.ring }, 'keyring: readable again');
      this.problemNow = null;
    }
  }

  private report(problem: KeyringProblem): void {
    if (this.problemNow?.message !== problem.message)
      this.deps.logger.error({ code: problem.code }, `keyring: values cannot be read: ${problem.message}`);
    this.problemNow = problem;
  }
}
