import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';

/**
 * The legacy web client profile (API.md, docs/migrating-from-flask.md): browsers on the listed
 * origins run the front end written for the original Flask backend, so on the few routes it reads
 * they get that backend's representations; everyone else gets the contract.
 *
 * Kept to a rewrite of the finished JSON, after serialization, because the contract's
 * representations are built in two places (PostgreSQL for spaces, ADR 0008; Fastify's serializer
 * for bookings) and neither should know about this client. The rewrite hook is attached only to
 * the routes below, so every other route runs no code of it at all, and on those routes a request
 * from another origin (or none) pays one set lookup and no JSON parse.
 */

/** Pagination of a legacy bare-array list; CORS must expose them, or the page's script cannot read them. */
export const LEGACY_LIST_HEADERS = ['X-Total-Count', 'X-Total-Pages', 'X-Page', 'X-Per-Page', 'Link'] as const;

type Json = Record<string, unknown>;
type Rewrite = (body: Json, request: FastifyRequest, reply: FastifyReply) => unknown;

const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The original backend spelled space statuses AVAILABLE / UNAVAILABLE, and the front end compares with ===. */
const legacySpace = (space: unknown) => (isObject(space) && typeof space.status === 'string' ? { ...space, status: space.status.toUpperCase() } : space);

/** Its dashboard reads total_cost and its bookings page total_amount; both are the contract's total_price. */
const legacyBooking = (booking: unknown) =>
  isObject(booking) && 'total_price' in booking ? { ...booking, total_cost: booking.total_price, total_amount: booking.total_price } : booking;

/** An RFC 8288 Link header with next/prev, as references relative to the request's own URL (its path and query kept). */
function linkHeader(request: FastifyRequest, page: number, pages: number): string | undefined {
  const pageUrl = (target: number) => {
    const url = new URL(request.url, 'http://localhost');
    url.searchParams.set('page', String(target));
    return `<${url.pathname}${url.search}>`;
  };
  const links: string[] = [];
  if (page < pages) links.push(`${pageUrl(page + 1)}; rel="next"`);
  if (page > 1) links.push(`${pageUrl(Math.min(page - 1, Math.max(pages, 1)))}; rel="prev"`);
  return links.length > 0 ? links.join(', ') : undefined;
}

/** `{<plural>: [...], total, pages, current_page, per_page}` → the bare array, the rest in headers. */
const bareList =
  (plural: string, item: (value: unknown) => unknown): Rewrite =>
  (body, request, reply) => {
    const { total, pages, current_page: page, per_page: perPage } = body as { total: number; pages: number; current_page: number; per_page: number };
    reply.header('x-total-count', String(total)).header('x-total-pages', String(pages)).header('x-page', String(page)).header('x-per-page', String(perPage));
    const link = linkHeader(request, page, pages);
    if (link !== undefined) reply.header('link', link);
    const items = body[plural];
    return Array.isArray(items) ? items.map(item) : items;
  };

const one =
  (item: (value: unknown) => unknown): Rewrite =>
  (body) =>
    item(body);

/** Exactly the routes the profile changes, by method and route URL; nothing else is touched. */
const LEGACY_ROUTES: Readonly<Record<string, Rewrite>> = {
  'GET /api/spaces': bareList('spaces', legacySpace),
  'GET /api/spaces/:id': one(legacySpace),
  'GET /api/bookings': bareList('bookings', legacyBooking),
  'POST /api/bookings': one(legacyBooking),
  'GET /api/bookings/:id': one(legacyBooking),
  'PUT /api/bookings/:id/cancel': one(legacyBooking),
  'POST /api/bookings/:id/cancel': one(legacyBooking),
};

const routeKey = (method: string, url: string) => `${method} ${url.length > 1 ? url.replace(/\/+$/, '') : url}`;

async function legacyClientPlugin(app: FastifyInstance, options: { origins: readonly string[] }) {
  if (options.origins.length === 0) return;
  const listed = new Set(options.origins);

  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const rewrites = new Map(
      methods.flatMap((method) => {
        const rewrite = LEGACY_ROUTES[routeKey(method, route.url)];
        return rewrite ? [[method, rewrite] as const] : [];
      }),
    );
    if (rewrites.size === 0) return;

    const legacyShape = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      const origin = request.headers.origin;
      if (origin === undefined || !listed.has(origin)) return payload;
      // Errors keep the contract's envelope, and only JSON text (never a stream or a buffer) is rewritten.
      if (reply.statusCode < 200 || reply.statusCode >= 300 || typeof payload !== 'string') return payload;
      const rewrite = rewrites.get(request.method);
      if (!rewrite) return payload;
      const body: unknown = JSON.parse(payload);
      return isObject(body) ? JSON.stringify(rewrite(body, request, reply)) : payload;
    };
    const existing = route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend];
    route.onSend = [...existing, legacyShape];
  });
}

export default fp(legacyClientPlugin, { name: 'legacy-client' });
