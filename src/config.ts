import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Every setting the service reads, in one table: name, default, description and constraint.
 * `loadConfig` is the only reader of the environment; everything else receives the frozen result.
 */

export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

type RawEnv = Record<string, string | undefined>;

interface Setting<T> {
  description: string;
  /** A literal default, or one derived from the other raw variables. */
  default?: string | ((env: RawEnv) => string | undefined);
  parse: (raw: string, name: string) => T;
}

const fail = (name: string, problem: string): never => {
  throw new ConfigError(name, problem);
};

const text = (raw: string) => raw;

const integer = (min: number, max: number) => (raw: string, name: string) => {
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    return fail(name, `must be an integer from ${min} to ${max} (got "${raw}")`);
  }
  return value;
};

const boolean = (raw: string, name: string) => {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  return fail(name, `must be true or false (got "${raw}")`);
};

const oneOf =
  <const T extends string>(values: readonly T[]) =>
  (raw: string, name: string): T => {
    if ((values as readonly string[]).includes(raw)) return raw as T;
    return fail(name, `must be one of ${values.join(', ')} (got "${raw}")`);
  };

const url = (protocols: readonly string[]) => (raw: string, name: string) => {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return fail(name, 'must be an absolute URL');
  }
  if (!protocols.includes(parsed.protocol)) return fail(name, `must be a ${protocols.join(' or ')} URL`);
  return raw.replace(/\/+$/, '');
};

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "900", "15m", "12h", "30d" → seconds. */
const duration = (raw: string, name: string) => {
  const match = /^(\d+)\s*([smhd]?)$/.exec(raw.trim());
  const seconds = match ? Number(match[1]) * UNITS[match[2] || 's']! : NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 1) return fail(name, `must be a duration such as 900, 15m, 12h or 30d (got "${raw}")`);
  return seconds;
};

const list = (raw: string) =>
  raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/** Browser origins as the `Origin` header carries them: scheme, host and port, no path, no trailing slash. */
const origins = (raw: string, name: string) =>
  list(raw).map((item) => {
    let origin: string | undefined;
    try {
      origin = new URL(item).origin;
    } catch {
      origin = undefined;
    }
    if (origin === undefined || origin === 'null' || origin !== item)
      return fail(name, `must be a comma list of origins such as http://127.0.0.1:5173 (got "${item}")`);
    return origin;
  });

const secret = (raw: string, name: string) => {
  if (Buffer.byteLength(raw) < 32) return fail(name, 'must be at least 32 bytes long');
  return raw;
};

const pattern = (regex: RegExp, rule: string) => (raw: string, name: string) => {
  // Rules only: these values are credentials, so the message never repeats them.
  if (!regex.test(raw)) return fail(name, rule);
  return raw;
};

const MPESA_BASE_URLS = { sandbox: 'https://sandbox.safaricom.co.ke', production: 'https://api.safaricom.co.ke' } as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const DEV_ORIGINS = 'http://localhost:3000,http://localhost:5173,http://127.0.0.1:5173';

const settings = {
  NODE_ENV: { description: 'development, production or test', default: 'development', parse: oneOf(['development', 'production', 'test'] as const) },
  PORT: { description: 'TCP port to listen on', default: '5000', parse: integer(0, 65535) },
  HOST: {
    description: 'Interface to listen on (all interfaces in production, loopback otherwise)',
    default: (env) => (env.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1'),
    parse: text,
  },
  PUBLIC_URL: {
    description: 'Absolute URL clients reach this service at; used for upload and calendar links',
    default: (env) => `http://localhost:${env.PORT?.trim() || '5000'}`,
    parse: url(['http:', 'https:']),
  },
  TRUST_PROXY: {
    description: 'Trust X-Forwarded-* from this many proxy hops (0 = none); needed for per-IP limits behind a load balancer',
    default: '0',
    parse: integer(0, 10),
  },
  LOG_LEVEL: { description: 'pino log level', default: 'info', parse: oneOf(LOG_LEVELS) },
  DATA_DIR: { description: 'Folder for the embedded database, uploads, outbox and generated secrets', default: './data', parse: (raw: string) => resolve(raw) },
  DATABASE_URL: { description: 'PostgreSQL URL; unset = embedded PostgreSQL (PGlite) in DATA_DIR', parse: url(['postgres:', 'postgresql:']) },
  DB_POOL_MAX: { description: 'Connections in the PostgreSQL pool of each process', default: '10', parse: integer(1, 200) },
  WEB_CONCURRENCY: {
    description: 'Server processes (cluster workers sharing PORT, supervised by one primary); 1 = a single process. More than 1 needs DATABASE_URL',
    default: '1',
    parse: integer(1, 64),
  },
  JWT_SECRET_KEY: { description: 'HS256 secret for access tokens (≥32 bytes; required in production, else generated once into DATA_DIR)', parse: secret },
  JWT_REFRESH_SECRET_KEY: { description: 'HS256 secret for refresh tokens (≥32 bytes, different from JWT_SECRET_KEY; same rules)', parse: secret },
  ACCESS_TOKEN_TTL: { description: 'Access token lifetime (seconds or 15m/12h/30d)', default: '15m', parse: duration },
  REFRESH_TOKEN_TTL: { description: 'Refresh token and session lifetime', default: '30d', parse: duration },
  BCRYPT_ROUNDS: { description: 'bcrypt cost factor', default: '12', parse: integer(4, 15) },
  CORS_ORIGINS: {
    description: 'Comma list of browser origins allowed by CORS (outside production defaults to the usual local front ends)',
    default: (env) => (env.NODE_ENV === 'production' ? '' : DEV_ORIGINS),
    parse: list,
  },
  LEGACY_CLIENT_ORIGINS: {
    description:
      "Comma list of browser origins that get the original Flask backend's representations (docs/migrating-from-flask.md); they are allowed by CORS too",
    default: '',
    parse: origins,
  },
  FRONTEND_URL: { description: 'Base URL of the web front end, used in links in emails', default: 'http://localhost:5173', parse: url(['http:', 'https:']) },
  SMTP_URL: { description: 'smtp:// or smtps:// URL of the mail relay; unset = .eml files in DATA_DIR/outbox', parse: url(['smtp:', 'smtps:']) },
  MAIL_FROM: { description: 'From address of outgoing mail', default: 'Spacer <no-reply@spacer.local>', parse: text },
  MAIL_POLL_INTERVAL_MS: { description: 'How often the mail worker looks for queued mail', default: '2000', parse: integer(50, 3_600_000) },
  MAIL_RETRY_BASE_MS: {
    description: 'First retry delay of a failed mail; doubles per attempt, capped at one hour',
    default: '5000',
    parse: integer(1, 3_600_000),
  },
  MAIL_MAX_ATTEMPTS: { description: 'Attempts before a mail is marked failed', default: '10', parse: integer(1, 100) },
  MAX_UPLOAD_MB: { description: 'Largest accepted upload file, in MB (images are then resized)', default: '10', parse: integer(1, 100) },
  CLOUDINARY_URL: {
    description: 'cloudinary://API_KEY:API_SECRET@CLOUD_NAME; or set the three CLOUDINARY_* below. Unset: images are stored under DATA_DIR/uploads',
    parse: url(['cloudinary:']),
  },
  CLOUDINARY_CLOUD_NAME: { description: 'Cloudinary cloud name (with CLOUDINARY_API_KEY and CLOUDINARY_API_SECRET)', parse: text },
  CLOUDINARY_API_KEY: { description: 'Cloudinary API key', parse: text },
  CLOUDINARY_API_SECRET: { description: 'Cloudinary API secret', parse: text },
  CLOUDINARY_UPLOAD_PREFIX: { description: 'Base URL (https) of the Cloudinary upload API', default: 'https://api.cloudinary.com', parse: url(['https:']) },
  BOOKING_PENDING_TTL_HOURS: {
    description: 'Hours a booking request may stay pending before it expires (it also expires at its start)',
    default: '24',
    parse: integer(1, 24 * 30),
  },
  BOOKING_PAYMENT_TTL_HOURS: {
    description: 'Hours a confirmed booking may stay unpaid after its approval before it is cancelled as unpaid (it is also cancelled at its start)',
    default: '24',
    parse: integer(1, 24 * 30),
  },
  SWEEP_INTERVAL_MS: {
    description:
      "How often pending bookings are expired, unpaid ones cancelled and finished ones completed, and listings' prepared opening periods extended (ADR 0015)",
    default: '60000',
    parse: integer(100, 3_600_000),
  },
  PAYMENT_SWEEP_INTERVAL_MS: {
    description: 'How often M-Pesa payments without a callback are queried and owed refunds retried',
    default: '15000',
    parse: integer(100, 3_600_000),
  },
  BACKGROUND_JOBS: { description: 'Run background workers (mail, sweeps) in this process', default: 'true', parse: boolean },
  REDIS_URL: { description: 'Redis URL for rate-limit counters shared by several processes; unset = in memory', parse: url(['redis:', 'rediss:']) },
  RATE_LIMIT_PREFIX: { description: 'Key prefix of rate-limit counters in Redis', default: 'spacer:rl:', parse: text },
  RATE_LIMIT_AUTH_PER_IP: { description: 'Requests per IP per minute across /api/auth/*', default: '100', parse: integer(1, 1_000_000) },
  RATE_LIMIT_LOGIN_PER_EMAIL: { description: 'Failed logins per email and client IP per 15 minutes', default: '10', parse: integer(1, 1_000_000) },
  RATE_LIMIT_LOGIN_PER_EMAIL_CEILING: {
    description: 'Failed logins per email from all IPs together per 15 minutes',
    default: '100',
    parse: integer(1, 1_000_000),
  },
  RATE_LIMIT_EMAIL_PER_HOUR: {
    description: 'Registrations, password-reset and verification mails per email address per hour',
    default: '5',
    parse: integer(1, 1_000_000),
  },
  MPESA_CONSUMER_KEY: {
    description:
      'Daraja app consumer key; with the secret, shortcode and passkey M-Pesa goes through Daraja (unset: simulated outside production, unavailable in production)',
    parse: text,
  },
  MPESA_CONSUMER_SECRET: { description: 'Daraja app consumer secret', parse: text },
  MPESA_BUSINESS_SHORTCODE: {
    description: 'Paybill shortcode STK pushes pay into (5–7 digits)',
    parse: pattern(/^\d{5,7}$/, 'must be a shortcode of 5 to 7 digits'),
  },
  MPESA_PASSKEY: { description: 'Lipa na M-Pesa Online passkey (signs the STK Password)', parse: text },
  MPESA_ENV: {
    description: 'Daraja environment: sandbox or production (chooses the default MPESA_BASE_URL)',
    default: 'sandbox',
    parse: oneOf(['sandbox', 'production'] as const),
  },
  MPESA_BASE_URL: {
    description: 'Base URL of the Daraja API (defaults from MPESA_ENV)',
    default: (env) => (env.MPESA_ENV === 'production' ? MPESA_BASE_URLS.production : MPESA_BASE_URLS.sandbox),
    parse: url(['http:', 'https:']),
  },
  MPESA_CALLBACK_TOKEN: {
    description:
      'Secret path segment of the M-Pesa callback URLs (≥16 of A-Z a-z 0-9 _ -; required in production with M-Pesa, else derived from the generated secrets)',
    parse: pattern(/^[A-Za-z0-9_-]{16,}$/, 'must be at least 16 characters of A-Z, a-z, 0-9, _ and -'),
  },
  MPESA_INITIATOR_NAME: { description: 'Daraja API operator that initiates reversals (refunds), with MPESA_SECURITY_CREDENTIAL', parse: text },
  MPESA_SECURITY_CREDENTIAL: { description: "The initiator's password encrypted with Safaricom's certificate, for reversals", parse: text },
  MPESA_QUERY_AFTER_S: {
    description: 'Seconds an M-Pesa payment may stay pending before it is settled through an STK query',
    default: '60',
    parse: integer(5, 86_400),
  },
  STRIPE_SECRET_KEY: {
    description: 'Stripe secret (sk_…) or restricted (rk_…) key; set: cards go through Stripe (unset: simulated outside production, unavailable in production)',
    parse: pattern(/^(sk|rk)_(test|live)_\S+$/, 'must be a Stripe secret key (sk_test_…, sk_live_…, rk_…)'),
  },
  STRIPE_WEBHOOK_SECRET: {
    description: 'Signing secret (whsec_…) of the Stripe webhook endpoint; required with STRIPE_SECRET_KEY',
    parse: pattern(/^whsec_\S+$/, 'must be a Stripe webhook signing secret (whsec_…)'),
  },
  STRIPE_API_BASE: { description: 'Base URL of the Stripe API', default: 'https://api.stripe.com', parse: url(['http:', 'https:']) },
  SIMULATED_PAYMENT_DELAY_MS: {
    description: 'Delay before the simulated provider delivers its callback (outside production, unconfigured methods only)',
    default: '1000',
    parse: integer(0, 3_600_000),
  },
  PAYMENT_PROVIDER_TIMEOUT_MS: { description: 'Timeout of each call to Daraja or Stripe', default: '10000', parse: integer(100, 120_000) },
} satisfies Record<string, Setting<unknown>>;

type Settings = typeof settings;
type Value<S> = S extends { parse: (raw: string, name: string) => infer T } ? T : never;
type HasDefault<S> = S extends { default: unknown } ? true : false;

export type Config = {
  readonly [K in keyof Settings]: HasDefault<Settings[K]> extends true ? Value<Settings[K]> : Value<Settings[K]> | undefined;
} & {
  /** Both JWT secrets are always resolved after loading. */
  readonly JWT_SECRET_KEY: string;
  readonly JWT_REFRESH_SECRET_KEY: string;
};

/** For the README's configuration table. */
export const configDescriptions = Object.entries(settings as Record<string, Setting<unknown>>).map(([name, setting]) => ({
  name,
  description: setting.description,
  default: typeof setting.default === 'string' ? setting.default : setting.default ? '(derived)' : '',
}));

export interface LoadOptions {
  /** Where development secrets are kept; defaults to DATA_DIR. Tests pass secrets in the env instead. */
  persistSecrets?: boolean;
}

export function loadConfig(env: RawEnv = process.env, options: LoadOptions = {}): Config {
  const values: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(settings as Record<string, Setting<unknown>>)) {
    const given = env[name];
    const raw = given !== undefined && given !== '' ? given : typeof setting.default === 'function' ? setting.default(env) : setting.default;
    values[name] = raw === undefined ? undefined : setting.parse(raw, name);
  }

  if (values.NODE_ENV === 'production') {
    for (const name of ['JWT_SECRET_KEY', 'JWT_REFRESH_SECRET_KEY']) {
      if (values[name] === undefined) fail(name, 'is required in production (at least 32 bytes)');
    }
  } else if (values.JWT_SECRET_KEY === undefined || values.JWT_REFRESH_SECRET_KEY === undefined) {
    if (options.persistSecrets === false) fail(values.JWT_SECRET_KEY === undefined ? 'JWT_SECRET_KEY' : 'JWT_REFRESH_SECRET_KEY', 'is required');
    const kept = developmentSecrets(values.DATA_DIR as string);
    values.JWT_SECRET_KEY ??= kept.access;
    values.JWT_REFRESH_SECRET_KEY ??= kept.refresh;
  }
  if (values.JWT_SECRET_KEY === values.JWT_REFRESH_SECRET_KEY) fail('JWT_REFRESH_SECRET_KEY', 'must differ from JWT_SECRET_KEY');

  // The embedded database runs inside the one process that opened DATA_DIR/pgdata: workers cannot share it.
  if ((values.WEB_CONCURRENCY as number) > 1 && values.DATABASE_URL === undefined)
    fail(
      'WEB_CONCURRENCY',
      `must be 1 with the embedded database (it belongs to one process); set DATABASE_URL to run ${values.WEB_CONCURRENCY as number} workers`,
    );

  resolveCloudinary(values);
  resolvePayments(values);
  return Object.freeze(values) as Config;
}

/** CLOUDINARY_URL and the three separate variables are two spellings of one setting; after this only the three are read. */
function resolveCloudinary(values: Record<string, unknown>) {
  const fromUrl = values.CLOUDINARY_URL as string | undefined;
  if (fromUrl) {
    const parsed = new URL(fromUrl);
    if (!parsed.username || !parsed.password || !parsed.hostname) fail('CLOUDINARY_URL', 'must look like cloudinary://API_KEY:API_SECRET@CLOUD_NAME');
    values.CLOUDINARY_CLOUD_NAME ??= parsed.hostname;
    values.CLOUDINARY_API_KEY ??= decodeURIComponent(parsed.username);
    values.CLOUDINARY_API_SECRET ??= decodeURIComponent(parsed.password);
  }
  const parts = ['CLOUDINARY_CLOUD_NAME', 'CLOUDINARY_API_KEY', 'CLOUDINARY_API_SECRET'];
  const given = parts.filter((name) => values[name] !== undefined);
  if (given.length > 0 && given.length < parts.length)
    fail(
      parts.find((name) => values[name] === undefined)!,
      'is required when any Cloudinary setting is given',
    );
}

const MPESA_PARTS = ['MPESA_CONSUMER_KEY', 'MPESA_CONSUMER_SECRET', 'MPESA_BUSINESS_SHORTCODE', 'MPESA_PASSKEY'];

/** True when M-Pesa goes through Daraja rather than the simulated provider. */
export const mpesaConfigured = (config: Pick<Config, 'MPESA_CONSUMER_KEY' | 'MPESA_CONSUMER_SECRET' | 'MPESA_BUSINESS_SHORTCODE' | 'MPESA_PASSKEY'>) =>
  Boolean(config.MPESA_CONSUMER_KEY && config.MPESA_CONSUMER_SECRET && config.MPESA_BUSINESS_SHORTCODE && config.MPESA_PASSKEY);

function resolvePayments(values: Record<string, unknown>) {
  const production = values.NODE_ENV === 'production';
  const given = MPESA_PARTS.filter((name) => values[name] !== undefined);
  if (given.length > 0 && given.length < MPESA_PARTS.length)
    fail(
      MPESA_PARTS.find((name) => values[name] === undefined)!,
      'is required when any of the M-Pesa credentials is given',
    );
  const reversal = ['MPESA_INITIATOR_NAME', 'MPESA_SECURITY_CREDENTIAL'];
  if ((values.MPESA_INITIATOR_NAME === undefined) !== (values.MPESA_SECURITY_CREDENTIAL === undefined))
    fail(
      reversal.find((name) => values[name] === undefined)!,
      'is required with the other reversal setting',
    );

  if (values.MPESA_CALLBACK_TOKEN === undefined) {
    if (production && given.length > 0) fail('MPESA_CALLBACK_TOKEN', 'is required in production when M-Pesa is configured');
    // Derived, not stored: it then lasts exactly as long as the JWT secret it comes from (given, or generated once into DATA_DIR).
    if (!production)
      values.MPESA_CALLBACK_TOKEN = createHmac('sha256', values.JWT_SECRET_KEY as string)
        .update('spacer:mpesa-callback-token')
        .digest('base64url');
  }

  if (values.STRIPE_SECRET_KEY !== undefined && values.STRIPE_WEBHOOK_SECRET === undefined)
    fail('STRIPE_WEBHOOK_SECRET', 'is required when STRIPE_SECRET_KEY is set');
  if (production) {
    for (const name of ['MPESA_BASE_URL', 'STRIPE_API_BASE']) {
      if (!(values[name] as string).startsWith('https:')) fail(name, 'must be an https URL in production');
    }
  }
}

/** Outside production the secrets are generated on first start and kept, so tokens survive restarts. */
function developmentSecrets(dataDir: string): { access: string; refresh: string } {
  const file = join(dataDir, 'secrets.json');
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { access?: unknown; refresh?: unknown };
    if (typeof stored.access === 'string' && typeof stored.refresh === 'string') return { access: stored.access, refresh: stored.refresh };
  } catch {
    // Absent or unreadable: generate below.
  }
  const generated = { access: randomBytes(48).toString('base64url'), refresh: randomBytes(48).toString('base64url') };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(generated), { mode: 0o600 });
  return generated;
}

/** Reads `.env` when present; real environment variables win over it. */
export function loadEnvFile(path = '.env'): void {
  try {
    process.loadEnvFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
