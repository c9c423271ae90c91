import fc from 'fast-check';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { LEAKS } from '../helpers/assertions.ts';
import { createResponseChecker, uncheckedInject } from '../helpers/response-schemas.ts';
import { buildRequest, drawArbitrary, type Context, type FuzzRequest } from './generate.ts';
import { documentedErrorCodes, operationsOf, type OpenApi } from './operations.ts';
import { seedWorld, type World } from './world.ts';
import { installWriteLog } from './write-log.ts';

/**
 * Drives the app with generated requests and holds every answer to the contract: never a 5xx, an
 * error only in the documented envelope with a documented code and nothing internal, a 2xx only
 * as its documented schema, and a refused (4xx) request leaving the database exactly as it was.
 */

export interface Violation {
  rule: string;
  request: string;
  status: number;
  detail: string;
}

export interface Summary {
  requests: number;
  seed: number;
  durationMs: number;
  byStatus: Record<string, number>;
  byOperation: Record<string, number>;
  violations: Violation[];
  /** Requests the HTTP layer itself would not carry (a header value Node refuses), skipped. */
  unsendable: number;
}

/**
 * Refused requests the contract itself requires to change the database, each with its rule.
 * Anything else a 4xx changes is a violation.
 */
export const REFUSALS_THAT_WRITE: Array<{ operationId: string; status: number; tables: string[]; rule: string }> = [
  {
    operationId: 'refreshTokens',
    status: 401,
    tables: ['sessions'],
    rule: 'API.md, POST /api/auth/refresh: presenting a spent refresh token is 401 and the whole token family is revoked',
  },
];

/** The operations whose success can take a caller's token or role away; the world is checked after them. */
const DISRUPTIVE = new Set(['logout', 'deactivateUser', 'updateUser', 'changePassword', 'resetPassword', 'refreshTokens']);

const describe = (request: FuzzRequest) =>
  `${request.role} ${request.method} ${request.url.slice(0, 160)} [${request.operation.operationId}; ${request.mutation}]`;

export interface FuzzOptions {
  requests: number;
  seed: number;
  callbackToken: string;
  /** Called every 1,000 requests with the running summary. */
  progress?: (summary: Summary) => void;
  /** Ends the run early (the summary then covers the requests sent). */
  signal?: AbortSignal;
  /**
   * Runs after each answer, before it is judged. Only the fuzzer's self-test uses it, to play a
   * route that writes and then refuses and see that the run reports it.
   */
  afterAnswer?: (request: FuzzRequest, status: number) => Promise<void>;
}

const ANSWER_TIMEOUT_MS = 10_000;

class NoAnswer extends Error {}

/** A request the app never answers would otherwise stall the run silently. */
function answerWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NoAnswer()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function runFuzz(app: FastifyInstance, options: FuzzOptions): Promise<Summary> {
  const started = Date.now();
  const inject = uncheckedInject(app) as (options: InjectOptions) => Promise<{ statusCode: number; headers: Record<string, unknown>; body: string }>;
  const document = app.swagger() as unknown as OpenApi;
  const checker = createResponseChecker(document);
  const codes = documentedErrorCodes(document);
  const operations = operationsOf(document).filter((operation) => !['/health', '/ready'].includes(operation.path) || operation.method === 'GET');
  const writes = await installWriteLog(app.services.database.db);
  let world: World = await seedWorld(app, inject, undefined);
  const context: Context = { document, world: () => world, callbackToken: options.callbackToken };
  const draws = new Map(operations.map((operation) => [operation.operationId, drawArbitrary(context, operation)]));

  const summary: Summary = { requests: 0, seed: options.seed, durationMs: 0, byStatus: {}, byOperation: {}, violations: [], unsendable: 0 };
  const violate = (rule: string, request: FuzzRequest, status: number, detail: string) =>
    summary.violations.push({ rule, request: describe(request), status, detail: detail.slice(0, 600) });

  for (let i = 0; i < options.requests && !options.signal?.aborted; i++) {
    // One seed per request: a finding is replayed from (seed, index) alone, whatever came before.
    const operation = operations[fc.sample(fc.nat(operations.length - 1), { seed: options.seed + i * 7919, numRuns: 1 })[0]!]!;
    const [draw] = fc.sample(draws.get(operation.operationId)!, { seed: options.seed + i, numRuns: 1 });
    const request = buildRequest(context, operation, draw!);
    // Some 2xx answers go before their writes do (forgot-password mails after answering, so its
    // timing says nothing); those writes must land before the next request is judged.
    await app.services.background.drained();
    await writes.clear();
    let response;
    try {
      if (process.env.FUZZ_TRACE) console.error(i, describe(request));
      response = await answerWithin(
        inject({ method: request.method, url: request.url, headers: request.headers, ...(request.payload !== undefined ? { payload: request.payload } : {}) }),
        ANSWER_TIMEOUT_MS,
      );
    } catch (error) {
      if (error instanceof NoAnswer) {
        summary.requests++;
        violate('an answer within 10 s', request, 0, 'no response');
        continue;
      }
      if ((error as { code?: string }).code === 'ERR_INVALID_CHAR' || /Invalid character|header/i.test(String(error))) {
        summary.unsendable++;
        continue;
      }
      throw error;
    }
    summary.requests++;
    const status = response.statusCode;
    await options.afterAnswer?.(request, status);
    summary.byStatus[status] = (summary.byStatus[status] ?? 0) + 1;
    summary.byOperation[operation.operationId] = (summary.byOperation[operation.operationId] ?? 0) + 1;

    if (status >= 500) violate('no 5xx', request, status, response.body);
    for (const problem of checker.problems(request.method, request.url, response)) violate('matches the OpenAPI document', request, status, problem);
    if (status >= 400) {
      let body: { code?: unknown; error?: unknown; message?: unknown } | undefined;
      try {
        body = JSON.parse(response.body);
      } catch {
        body = undefined;
      }
      if (!body || typeof body.code !== 'string' || !codes.has(body.code)) violate('error code listed in x-error-codes', request, status, response.body);
      else if (body.message !== body.error) violate('message repeats error', request, status, response.body);
      if (LEAKS.test(response.body)) violate('no internals in an error', request, status, response.body);
    }
    if (status >= 400 && status < 500) {
      await app.services.background.drained();
      const changed = await writes.take();
      const allowed = REFUSALS_THAT_WRITE.find((exception) => exception.operationId === operation.operationId && exception.status === status);
      const unexplained = changed.filter((table) => !allowed?.tables.includes(table));
      if (unexplained.length > 0) violate('a refused request changes nothing', request, status, `changed: ${unexplained.join(', ')}; ${response.body}`);
    }
    if (status < 300 && DISRUPTIVE.has(operation.operationId)) {
      if (operation.operationId === 'refreshTokens') {
        const body = JSON.parse(response.body) as { refresh_token: string; access_token: string };
        for (const user of Object.values(world.users))
          if (request.payload && String(request.payload).includes(user.refreshToken)) user.refreshToken = body.refresh_token;
      }
      if (!(await worldIntact(inject, world))) world = await seedWorld(app, inject, world);
    } else if (operation.operationId === 'refreshTokens' && status === 401 && !(await worldIntact(inject, world))) {
      world = await seedWorld(app, inject, world);
    }
    if ((i + 1) % 1000 === 0) {
      await writes.verify();
      options.progress?.(summary);
    }
  }
  await writes.verify();
  summary.durationMs = Date.now() - started;
  return summary;
}

/** Every seeded caller still signs in as the role it was created with. */
async function worldIntact(inject: (options: InjectOptions) => Promise<{ statusCode: number; body: string }>, world: World): Promise<boolean> {
  for (const [role, user] of Object.entries(world.users)) {
    if (role === 'deactivated') continue;
    const me = await inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${user.token}` } });
    if (me.statusCode !== 200 || (JSON.parse(me.body) as { role: string }).role !== user.role) return false;
  }
  return true;
}

/** Items joined into indented lines of at most 100 columns. */
function wrap(items: string[]): string[] {
  const lines: string[] = [];
  for (const item of items) {
    if (lines.length > 0 && lines.at(-1)!.length + 1 + item.length <= 100) lines[lines.length - 1] += ` ${item}`;
    else lines.push(`  ${item}`);
  }
  return lines;
}

export function formatSummary(summary: Summary): string {
  const lines = [
    `requests: ${summary.requests} (seed ${summary.seed}, ${(summary.durationMs / 1000).toFixed(1)} s, ${summary.unsendable} unsendable skipped)`,
    `by status: ${Object.entries(summary.byStatus)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([status, count]) => `${status}×${count}`)
      .join(' ')}`,
    `operations exercised: ${Object.keys(summary.byOperation).length}`,
    ...wrap(
      Object.entries(summary.byOperation)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([operation, count]) => `${operation}×${count}`),
    ),
    `violations: ${summary.violations.length}`,
  ];
  const grouped = new Map<string, Violation[]>();
  for (const violation of summary.violations) {
    const key = `${violation.rule} | ${violation.request.split(' [')[1]?.split(';')[0]} | ${violation.status}`;
    grouped.set(key, [...(grouped.get(key) ?? []), violation]);
  }
  for (const [key, list] of grouped) lines.push(`  ${list.length}× ${key}\n    e.g. ${list[0]!.request}\n    ${list[0]!.detail}`);
  return lines.join('\n');
}
