import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp, type AppDependencies } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { testDatabase } from './database.ts';
import { guardResponses } from './response-schemas.ts';

export const TEST_SECRETS = {
  JWT_SECRET_KEY: 'test-access-secret-0123456789abcdefghijklmnopqrstuvwxyz',
  JWT_REFRESH_SECRET_KEY: 'test-refresh-secret-0123456789abcdefghijklmnopqrstuvwxyz',
};

export function tempDir(prefix = 'spacer-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => {
    // A process may still be writing there (a server not yet stopped): retry, and never let a
    // failed cleanup stop the after() hooks that come behind it (one of them may stop that process).
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    } catch {
      // Left behind in the temp folder.
    }
  });
  return dir;
}

/** Configuration as a test wants it: quiet, fast hashing, no background timers, generous limits. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig(
    {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      BCRYPT_ROUNDS: '4',
      BACKGROUND_JOBS: 'false',
      DATA_DIR: tempDir(),
      RATE_LIMIT_AUTH_PER_IP: '100000',
      RATE_LIMIT_LOGIN_PER_EMAIL: '100000',
      RATE_LIMIT_LOGIN_PER_EMAIL_CEILING: '100000',
      RATE_LIMIT_EMAIL_PER_HOUR: '100000',
      ...TEST_SECRETS,
      ...env,
    },
    { persistSecrets: false },
  );
}

export interface TestAppOptions extends Partial<AppDependencies> {
  env?: Record<string, string>;
}

/**
 * A ready app on this process's test database, closed after the file's tests. Its responses are
 * checked against its OpenAPI document (see response-schemas.ts).
 */
export async function buildTestApp(options: TestAppOptions = {}): Promise<FastifyInstance> {
  const { env, ...deps } = options;
  const database = deps.database ?? (await testDatabase());
  const app = await buildApp(testConfig(env), { ...deps, database });
  await app.ready();
  guardResponses(app);
  after(() => app.close());
  return app;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string>;
}

export interface CallResult<T = any> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | number | undefined>;
  raw: string;
}

/** `app.inject` with a bearer token and a parsed JSON body, checked against the OpenAPI document. */
export async function call<T = any>(app: FastifyInstance, method: InjectOptions['method'], url: string, options: CallOptions = {}): Promise<CallResult<T>> {
  // Apps built with buildApp directly are checked too, from their first call on.
  guardResponses(app);
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await app.inject({
    method,
    url,
    headers,
    ...(options.query ? { query: options.query } : {}),
    ...(options.body !== undefined ? { payload: options.body as InjectOptions['payload'] } : {}),
  });
  let body: unknown = response.body;
  if (String(response.headers['content-type'] ?? '').includes('json') && response.body !== '') body = response.json();
  return { status: response.statusCode, body: body as T, headers: response.headers, raw: response.body };
}
