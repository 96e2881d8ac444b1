import { resolve } from 'node:path';
import { readTrustedDocuments, type TrustedDocuments } from './trusted-documents.js';
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

/** `true`/`false` (also 1/0, yes/no, on/off); undefined when unset, so the default can depend on the mode. */
const flag = z
  .string()
  .trim()
  .toLowerCase()
  .optional()
  .refine((value) => value === undefined || value === '' || /^(true|false|1|0|yes|no|on|off)$/.test(value), {
    message: 'must be true or false',
  })
  .transform((value) => (value === undefined || value === '' ? undefined : /^(true|1|yes|on)$/.test(value)));

const url = (protocols: string[], what: string) =>
  optionalString.refine(
    (value) => {
      if (value === undefined) return true;
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a ${what} URL (${protocols.map((p) => `${p}//`).join(' or ')})` },
  );

/** Every environment variable Coffer reads; README's configuration table mirrors this. */
const environmentSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().trim().min(1).default('./.coffer'),
  DATABASE_URL: url(['postgres:', 'postgresql:'], 'PostgreSQL'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /**
   * PGlite zero-fills all of its shared memory at every start, each page a fresh one the kernel
   * must fault in: PostgreSQL's 128 MB cost 0.3-0.5 s of a start on a 2-core VM. 64 MB starts
   * faster and synced Stripe data as fast (`npm run bench`); 32 MB synced slower.
   */
  PGLITE_SHARED_BUFFERS_MB: z.coerce.number().int().min(1).max(2048).default(64),
  COFFER_ADMIN_API_KEY: optionalString.refine((value) => value === undefined || /^cof_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/.test(value), {
    message:
      'must be a Coffer API key (cof_<12 letters or digits>_<43 base64url characters>); ' +
      'create one with `npm run coffer -- api-key generate`',
  }),
  /** Where the first admin's generated API key is written (mode 0600) instead of stdout. */
  COFFER_ADMIN_KEY_FILE: optionalString,
  COFFER_TOKEN_SECRET: optionalString.refine((value) => value === undefined || Buffer.byteLength(value) >= 32, {
    message: 'must be at least 32 bytes long',
  }),
  TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(30 * 24 * 3600)
    .default(3600),
  /** The longest lifetime (exp - iat) a JWT may claim, Coffer's or an identity provider's. */
  JWT_MAX_LIFETIME_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(30 * 24 * 3600)
    .default(24 * 3600),
  JWKS_URL: url(['https:', 'http:'], 'HTTP(S)'),
  JWT_ISSUER: optionalString,
  JWT_AUDIENCE: optionalString,
  JWT_ROLE_CLAIM: z.string().trim().min(1).default('role'),
  JWT_ADMIN_ROLE: z.string().trim().min(1).default('admin'),
  PUBLIC_URL: url(['https:', 'http:'], 'HTTP(S)'),
  CORS_ORIGINS: optionalString,
  GRAPHIQL: flag,
  /** Prometheus metrics at /metrics (off unless asked for); METRICS_TOKEN puts them behind a bearer token. */
  METRICS: flag,
  METRICS_TOKEN: optionalString,
  INTROSPECTION: flag,
  /** Path of a persisted-documents manifest (hash → text): when set, non-admins may send only those operations. */
  TRUSTED_DOCUMENTS: optionalString,
  /** How many reverse proxies in front of Coffer append to X-Forwarded-For (0: use the socket's address). */
  TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  AUTH_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(30),
  AUTH_FAILURES_PER_KEY: z.coerce.number().int().min(1).max(100_000).default(10),
  AUTH_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  /** How long a verified credential's principal is served from memory (0: never; changes drop it at once). */
  AUTH_CACHE_SECONDS: z.coerce.number().min(0).max(3600).default(30),
  REDIS_URL: url(['redis:', 'rediss:'], 'Redis'),
  /** Namespaces every Redis key and channel: deployments sharing one Redis never see each other's. */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits and _ . : - only (at most 64)')
    .default('coffer:'),
  STRIPE_API_BASE: url(['https:', 'http:'], 'HTTP(S)'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  COFFER_ROOT_KEY: optionalString,
  COFFER_ROOT_KEY_FILE: optionalString,
  KEYRING_REFRESH_SECONDS: z.coerce.number().min(1).max(3600).default(30),
  /** Import-only since the keyring moved into the database. */
  COFFER_MASTER_KEYS: optionalString,
  COFFER_MASTER_KEYS_FILE: optionalString,
  SECRET_VERSIONS_KEPT: z.coerce.number().int().min(1).max(1000).default(20),
  SECRET_SWEEP_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  STRIPE_SYNC_PAGE_SIZE: z.coerce.number().int().min(1).max(100).default(100),
  STRIPE_SYNC_MAX_RETRIES: z.coerce.number().int().min(0).max(50).default(8),
  STRIPE_SYNC_RETRY_BASE_MS: z.coerce.number().int().min(1).max(60_000).default(1000),
  STRIPE_SYNC_RETRY_MAX_MS: z.coerce.number().int().min(1).max(600_000).default(60_000),
  STRIPE_SYNC_LEASE_SECONDS: z.coerce.number().min(0.5).max(3600).default(30),
  STRIPE_SYNC_POLL_SECONDS: z.coerce.number().min(0.1).max(3600).default(5),
  STRIPE_SYNC_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(2),
  STRIPE_SYNC_PARALLEL_OBJECTS: z.coerce.number().int().min(1).max(8).default(4),
  STRIPE_EVENTS_CATCHUP_SECONDS: z.coerce.number().min(0).max(86_400).default(300),
  STRIPE_WEBHOOK_SECRET_OVERLAP_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(86_400),
  /** How long before a secret's expiresAt its EXPIRING change event is emitted. */
  SECRET_EXPIRY_WARNING_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(365 * 86_400)
    .default(7 * 86_400),
  /** Lets notification endpoints use http://127.0.0.1 / http://localhost (tests, development); https otherwise. */
  NOTIFICATION_ALLOW_LOCAL_HTTP: flag,
  NOTIFICATION_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  NOTIFICATION_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(30_000),
  NOTIFICATION_RETRY_MAX_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(86_400_000)
    .default(6 * 3_600_000),
  NOTIFICATION_TIMEOUT_SECONDS: z.coerce.number().min(0.5).max(120).default(10),
  NOTIFICATION_POLL_SECONDS: z.coerce.number().min(0.05).max(3600).default(1),
  MAX_REQUEST_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
});

/** The names of every variable Coffer reads (tests scrub them from a child's environment). */
export const CONFIG_VARIABLES = Object.keys(environmentSchema.shape);

export type Config = ReturnType<typeof toConfig> & { trustedDocuments?: TrustedDocuments };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates the environment; throws ConfigError listing every bad variable (never its value). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const problems: string[] = [];
  if (parsed.data.JWKS_URL && !parsed.data.JWT_ISSUER) problems.push('JWT_ISSUER: required when JWKS_URL is set');
  if (parsed.data.JWKS_URL && !parsed.data.JWT_AUDIENCE) problems.push('JWT_AUDIENCE: required when JWKS_URL is set');
  if (parsed.data.COFFER_MASTER_KEYS && parsed.data.COFFER_MASTER_KEYS_FILE) {
    problems.push('COFFER_MASTER_KEYS_FILE: set either COFFER_MASTER_KEYS or COFFER_MASTER_KEYS_FILE, not both');
  }
  if (parsed.data.TOKEN_TTL_SECONDS > parsed.data.JWT_MAX_LIFETIME_SECONDS) {
    problems.push('TOKEN_TTL_SECONDS: must not exceed JWT_MAX_LIFETIME_SECONDS (Coffer would issue tokens it refuses)');
  }
  if (parsed.data.COFFER_ROOT_KEY && parsed.data.COFFER_ROOT_KEY_FILE) {
    problems.push('COFFER_ROOT_KEY_FILE: set either COFFER_ROOT_KEY or COFFER_ROOT_KEY_FILE, not both');
  }
  for (const origin of parsed.data.CORS_ORIGINS?.split(',').map((entry) => entry.trim()) ?? []) {
    if (!isOrigin(origin))
      problems.push('CORS_ORIGINS: each entry must be an origin like https://app.example.com (scheme, host, optional port)');
  }
  let trustedDocuments: TrustedDocuments | undefined;
  if (parsed.data.TRUSTED_DOCUMENTS) {
    const read = readTrustedDocuments(resolve(parsed.data.TRUSTED_DOCUMENTS));
    if (typeof read === 'string') problems.push(read);
    else trustedDocuments = read;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...toConfig(parsed.data), trustedDocuments };
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

function toConfig(env: z.infer<typeof environmentSchema>) {
  const publicUrl = (env.PUBLIC_URL ?? `http://${env.HOST}:${env.PORT}`).replace(/\/+$/, '');
  // The embedded set-up is for trying Coffer: explorer and introspection on. With DATABASE_URL
  // (production), off unless asked for.
  const developerSurface = env.DATABASE_URL === undefined;
  return {
    port: env.PORT,
    host: env.HOST,
    dataDir: resolve(env.DATA_DIR),
    databaseUrl: env.DATABASE_URL,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    pgliteSharedBuffersMb: env.PGLITE_SHARED_BUFFERS_MB,
    adminApiKey: env.COFFER_ADMIN_API_KEY,
    adminKeyFile: env.COFFER_ADMIN_KEY_FILE ? resolve(env.COFFER_ADMIN_KEY_FILE) : undefined,
    tokenSecret: env.COFFER_TOKEN_SECRET,
    tokenTtlSeconds: env.TOKEN_TTL_SECONDS,
    jwtMaxLifetimeSeconds: env.JWT_MAX_LIFETIME_SECONDS,
    externalJwt: env.JWKS_URL
      ? {
          jwksUrl: env.JWKS_URL,
          issuer: env.JWT_ISSUER as string,
          audience: env.JWT_AUDIENCE as string,
          roleClaim: env.JWT_ROLE_CLAIM,
          adminRole: env.JWT_ADMIN_ROLE,
        }
      : undefined,
    publicUrl,
    corsOrigins: env.CORS_ORIGINS?.split(',').map((entry) => entry.trim()) ?? [],
    graphiql: env.GRAPHIQL ?? developerSurface,
    introspection: env.INTROSPECTION ?? developerSurface,
    trustProxyHops: env.TRUST_PROXY_HOPS,
    metrics: { enabled: env.METRICS ?? false, token: env.METRICS_TOKEN },
    authThrottle: {
      perAddress: env.AUTH_FAILURES_PER_ADDRESS,
      perKey: env.AUTH_FAILURES_PER_KEY,
      windowMs: env.AUTH_FAILURE_WINDOW_SECONDS * 1000,
    },
    authCacheSeconds: env.AUTH_CACHE_SECONDS,
    redisUrl: env.REDIS_URL,
    redisKeyPrefix: env.REDIS_KEY_PREFIX,
    stripeApiBase: env.STRIPE_API_BASE,
    logLevel: env.LOG_LEVEL,
    maxRequestBodyBytes: env.MAX_REQUEST_BODY_BYTES,
    rootKey: env.COFFER_ROOT_KEY,
    rootKeyFile: env.COFFER_ROOT_KEY_FILE ? resolve(env.COFFER_ROOT_KEY_FILE) : undefined,
    keyringRefreshMs: env.KEYRING_REFRESH_SECONDS * 1000,
    masterKeys: env.COFFER_MASTER_KEYS,
    masterKeysFile: env.COFFER_MASTER_KEYS_FILE ? resolve(env.COFFER_MASTER_KEYS_FILE) : undefined,
    secretVersionsKept: env.SECRET_VERSIONS_KEPT,
    secretSweepIntervalMs: env.SECRET_SWEEP_INTERVAL_SECONDS * 1000,
    /** How long a replaced webhook signing secret is still accepted (0: not at all). */
    stripeWebhookSecretOverlapMs: env.STRIPE_WEBHOOK_SECRET_OVERLAP_SECONDS * 1000,
    secretExpiryWarningMs: env.SECRET_EXPIRY_WARNING_SECONDS * 1000,
    notifications: {
      allowLocalHttp: env.NOTIFICATION_ALLOW_LOCAL_HTTP ?? false,
      maxAttempts: env.NOTIFICATION_MAX_ATTEMPTS,
      retryBaseMs: env.NOTIFICATION_RETRY_BASE_MS,
      retryMaxMs: Math.max(env.NOTIFICATION_RETRY_BASE_MS, env.NOTIFICATION_RETRY_MAX_MS),
      timeoutMs: Math.round(env.NOTIFICATION_TIMEOUT_SECONDS * 1000),
      pollMs: Math.round(env.NOTIFICATION_POLL_SECONDS * 1000),
    },
    stripeSync: {
      pageSize: env.STRIPE_SYNC_PAGE_SIZE,
      retry: {
        maxRetries: env.STRIPE_SYNC_MAX_RETRIES,
        baseDelayMs: env.STRIPE_SYNC_RETRY_BASE_MS,
        maxDelayMs: Math.max(env.STRIPE_SYNC_RETRY_BASE_MS, env.STRIPE_SYNC_RETRY_MAX_MS),
      },
      leaseMs: Math.round(env.STRIPE_SYNC_LEASE_SECONDS * 1000),
      pollMs: Math.round(env.STRIPE_SYNC_POLL_SECONDS * 1000),
      concurrency: env.STRIPE_SYNC_CONCURRENCY,
      parallelObjects: env.STRIPE_SYNC_PARALLEL_OBJECTS,
      /** 0: no events catch-up. */
      catchUpMs: Math.round(env.STRIPE_EVENTS_CATCHUP_SECONDS * 1000),
    },
  };
}
