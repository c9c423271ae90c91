/**
 * Who may call a route, declared once beside its schema (`config: { access: … }`) and checked by
 * the authorization matrix test against every route the app registers. The roles are the
 * relations a caller can have to the resource a route acts on, not only account roles:
 *
 * - `booker`: the client who owns the resource (the booking, its payment, the review, the
 *   testimonial, the saved payment method, the account itself);
 * - `otherClient`: a client with no link to it;
 * - `spaceOwner`: the owner of the space the resource belongs to;
 * - `otherOwner`: an owner of some other space;
 * - `deactivated`: an account an admin deactivated after it logged in, still sending its token;
 * - `admin`.
 *
 * The outcome is what authorization alone decides: `'allow'` lets the request through to its
 * validation and rules; `401`/`403` refuse it; `404` hides a resource that is scoped to its owner
 * (ownership in the WHERE clause); `'gated'` is a public route behind a shared secret (a provider
 * callback), refused as 400/404 to whoever lacks it, whatever their token.
 */
export type Outcome = 'allow' | 401 | 403 | 404 | 'gated';

export const ROLES = ['anonymous', 'booker', 'otherClient', 'spaceOwner', 'otherOwner', 'deactivated', 'admin'] as const;
export type AccessRole = (typeof ROLES)[number];

export type Access = Readonly<Record<AccessRole, Outcome>>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Required on every route: see src/shared/access.ts. */
    access: Access;
  }
}

/** Signed-in callers, refused or allowed per role; the anonymous and deactivated are always 401. */
const signedIn = (allowed: ReadonlyArray<Exclude<AccessRole, 'anonymous' | 'deactivated'>>, refused: 403 | 404 = 403): Access => ({
  anonymous: 401,
  deactivated: 401,
  booker: allowed.includes('booker') ? 'allow' : refused,
  otherClient: allowed.includes('otherClient') ? 'allow' : refused,
  spaceOwner: allowed.includes('spaceOwner') ? 'allow' : refused,
  otherOwner: allowed.includes('otherOwner') ? 'allow' : refused,
  admin: allowed.includes('admin') ? 'allow' : refused,
});

/** Anyone; a revoked or bad token counts as anonymous there, never 401. */
export const PUBLIC: Access = {
  anonymous: 'allow',
  booker: 'allow',
  otherClient: 'allow',
  spaceOwner: 'allow',
  otherOwner: 'allow',
  deactivated: 'allow',
  admin: 'allow',
};

/** Public, but only for the holder of a secret the route checks itself (provider callbacks). */
export const GATED: Access = {
  anonymous: 'gated',
  booker: 'gated',
  otherClient: 'gated',
  spaceOwner: 'gated',
  otherOwner: 'gated',
  deactivated: 'gated',
  admin: 'gated',
};

/** Any live account, acting on its own things. */
export const AUTHENTICATED = signedIn(['booker', 'otherClient', 'spaceOwner', 'otherOwner', 'admin']);

export const ADMINS = signedIn(['admin']);

/** By account role: owners (any) and admins. */
export const OWNERS_AND_ADMINS = signedIn(['spaceOwner', 'otherOwner', 'admin']);

/** By account role: clients (any) and admins. */
export const CLIENTS_AND_ADMINS = signedIn(['booker', 'otherClient', 'admin']);

/** The owner of the space in question, or an admin. */
export const SPACE_MANAGERS = signedIn(['spaceOwner', 'admin']);

/** The booker (or payer), the space's owner, or an admin. */
export const BOOKER_OR_HOST = signedIn(['booker', 'spaceOwner', 'admin']);

/** The resource's own user alone: the author of words, the payer of a booking. */
export const BOOKER_ONLY = signedIn(['booker']);

/** The resource's own user, or an admin (who may take it down or act on any account). */
export const BOOKER_OR_ADMIN = signedIn(['booker', 'admin']);

/** Scoped to its owner: for anyone else it does not exist. */
export const OWN_ONLY_HIDDEN = signedIn(['booker'], 404);

/** A literal declaration for a route that fits no common shape; spelled out so it reads as a table. */
export const access = (outcomes: Access): Access => outcomes;

/** One registered route as the app's route table keeps it. */
export interface RouteEntry {
  method: string;
  url: string;
  operationId: string | undefined;
  /** Undefined only for a route that forgot to declare it; the matrix test refuses that. */
  access: Access | undefined;
}
