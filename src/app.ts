import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Redis } from 'ioredis';
import packageJson from '../package.json' with { type: 'json' };
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import { periodic, type PeriodicTask } from './infra/jobs.ts';
import { createBackgroundTasks, type BackgroundTasks } from './infra/background.ts';
import { createMailSender, type AttachmentResolver } from './infra/mail/outbox.ts';
import { createPaymentProviders } from './infra/payments/index.ts';
import { outboxFilesTransport, smtpTransport, type MailTransport } from './infra/mail/transports.ts';
import { createCounterFactory } from './infra/rate-limit.ts';
import { createStorage, uploadsDir, type FileStorage } from './infra/storage/index.ts';
import { createPasswordHasher, type PasswordHasher } from './infra/passwords.ts';
import adminRoutes from './modules/admin/admin.routes.ts';
import { createAdminService } from './modules/admin/admin.service.ts';
import authRoutes from './modules/auth/auth.routes.ts';
import { createAuthService, type AuthService } from './modules/auth/auth.service.ts';
import { createTokenService } from './modules/auth/tokens.service.ts';
import bookingsRoutes from './modules/bookings/bookings.routes.ts';
import { BookingSchema } from './modules/bookings/bookings.schemas.ts';
import { createBookingsService, type BookingsService } from './modules/bookings/bookings.service.ts';
import { createCalendarTokens } from './modules/bookings/calendar.rules.ts';
import { createCalendarService } from './modules/bookings/calendar.service.ts';
import spaceBookingsRoutes from './modules/bookings/space-bookings.routes.ts';
import paymentMethodsRoutes from './modules/payments/payment-methods.routes.ts';
import paymentsRoutes from './modules/payments/payments.routes.ts';
import { PaymentSchema } from './modules/payments/payments.schemas.ts';
import { createPaymentsService, type PaymentsService } from './modules/payments/payments.service.ts';
import { createReceiptRenderer } from './modules/payments/receipt.pdf.ts';
import reviewsRoutes from './modules/reviews/reviews.routes.ts';
import { ReviewSchema } from './modules/reviews/reviews.schemas.ts';
import { createReviewsService } from './modules/reviews/reviews.service.ts';
import spaceReviewsRoutes from './modules/reviews/space-reviews.routes.ts';
import spacesRoutes from './modules/spaces/spaces.routes.ts';
import { ImageSchema, SpaceSchema } from './modules/spaces/spaces.schemas.ts';
import { createSpacesService, type SpacesService } from './modules/spaces/spaces.service.ts';
import systemRoutes from './modules/system/system.routes.ts';
import testimonialsRoutes from './modules/testimonials/testimonials.routes.ts';
import { TestimonialSchema } from './modules/testimonials/testimonials.schemas.ts';
import { createTestimonialsService } from './modules/testimonials/testimonials.service.ts';
import usersRoutes from './modules/users/users.routes.ts';
import { UserSchema } from './modules/users/users.schemas.ts';
import { createUsersService } from './modules/users/users.service.ts';
import authPlugin from './plugins/auth.ts';
import errorsPlugin, { send as sendError } from './plugins/errors.ts';
import { trackInFlight, type InFlight } from './plugins/in-flight.ts';
import legacyClientPlugin from './plugins/legacy-client.ts';
import multipartPlugin from './plugins/multipart.ts';
import securityPlugin from './plugins/security.ts';
import swaggerPlugin from './plugins/swagger.ts';
import uploadsPlugin from './plugins/uploads.ts';
import { SchemaBuilds } from './plugins/schema-builds.ts';
import validationPlugin from './plugins/validation.ts';
import type { RouteEntry } from './shared/access.ts';
import { systemClock, type Clock } from './shared/clock.ts';
import { AppError } from './shared/errors.ts';
import { createEventHub, type EventHub } from './shared/events.ts';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './shared/json-depth.ts';
import { ErrorSchema } from './shared/schemas.ts';

export interface AppDependencies {
  /** Opened (and migrated) by the caller, who also closes it. */
  database: Database;
  clock?: Clock;
  mailTransport?: MailTransport;
  /** Shared Redis for rate-limit counters; by default one is opened from REDIS_URL when set. */
  redis?: Redis;
  /** Where images go; by default Cloudinary when configured, else DATA_DIR/uploads. */
  storage?: FileStorage;
  /** Where log lines go (pino's destination); by default stdout. Lets a caller read what was logged. */
  logStream?: { write(line: string): void };
}

/** What the composition root built, for the CLI and for tests that assert on side effects. */
export interface AppServices {
  database: Database;
  clock: Clock;
  auth: AuthService;
  passwords: PasswordHasher;
  mailWorker: PeriodicTask;
  spaces: SpacesService;
  bookings: BookingsService;
  payments: PaymentsService;
  events: EventHub;
  background: BackgroundTasks;
  sweeper: PeriodicTask;
  paymentSweeper: PeriodicTask;
  spacesSweeper: PeriodicTask;
  storage: FileStorage;
  inFlight: InFlight;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: AppServices;
    /** Every route as registered, with its declared access: the source of the authorization matrix. */
    routeTable: readonly RouteEntry[];
    /** Compiles every route schema now instead of on first use (plugins/schema-builds.ts); how many there are. */
    compileAllSchemas: () => number;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const PERSONAL_PATHS =
  /^\/api\/(?:auth|users|bookings|payments|admin)(?:[/?]|$)|^\/api\/spaces\/(?:stats|mine)(?:[/?]|$)|^\/api\/spaces\/[^/?]+\/calendar(?:[/?]|$)/;

/** Query-string secrets (calendar tokens, emailed links) and M-Pesa's path token never reach the logs. */
const redactUrl = (url: string) =>
  url.replace(/([?&](?:token|access_token|refresh_token)=)[^&]*/gi, '$1[REDACTED]').replace(/(\/mpesa\/(?:callback|reversal)\/)[^/?]+/gi, '$1[REDACTED]');

function fastifyOptions(config: Config, schemaBuilds: SchemaBuilds, logStream?: AppDependencies['logStream']): FastifyServerOptions {
  return {
    logger: {
      level: config.LOG_LEVEL,
      ...(logStream ? { stream: logStream } : {}),
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.token', '*.access_token', '*.refresh_token'],
        censor: '[REDACTED]',
      },
      serializers: {
        req: (request) => ({ method: request.method, url: redactUrl(request.url), remoteAddress: request.ip }),
      },
    },
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    requestIdHeader: false,
    schemaController: { compilersFactory: { buildSerializer: schemaBuilds.serializerFactory() } },
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    bodyLimit: 1024 * 1024,
    // A hop count is valid for Fastify (proxy-addr) at run time, though its types omit it.
    trustProxy: (config.TRUST_PROXY > 0 ? config.TRUST_PROXY : false) as boolean,
    // Slow-client protection: a request must arrive whole within a minute.
    requestTimeout: 60_000,
    // What the router refuses before any route runs still answers in the contract's envelope.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      void sendError(
        reply,
        tooLong ? new AppError(414, 'uri_too_long', 'A path segment is too long') : new AppError(400, 'validation_error', 'The URL is malformed'),
      );
    },
    // Errors of Node's HTTP parser (oversized headers, garbage) happen before Fastify has a request.
    clientErrorHandler: (error: Error & { code?: string }, socket) => {
      if (error.code === 'ECONNRESET' || !socket.writable) return socket.destroy();
      const headersTooLarge = error.code === 'HPE_HEADER_OVERFLOW';
      const status = headersTooLarge ? 431 : 400;
      const message = headersTooLarge ? 'The request headers are too large' : 'The request is malformed';
      const code = headersTooLarge ? 'headers_too_large' : 'validation_error';
      const body = JSON.stringify({ error: message, message, code });
      socket.end(
        `HTTP/1.1 ${status} ${headersTooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${randomUUID()}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
  };
}

export async function buildApp(config: Config, deps: AppDependencies): Promise<FastifyInstance> {
  const schemaBuilds = new SchemaBuilds();
  const app = Fastify(fastifyOptions(config, schemaBuilds, deps.logStream)).withTypeProvider<TypeBoxTypeProvider>();
  const clock = deps.clock ?? systemClock;
  const { database } = deps;
  const { db } = database;

  // First, so that no route (a plugin's included) registers unseen.
  const routeTable: RouteEntry[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    const operationId = route.schema?.operationId;
    for (const method of [route.method].flat()) {
      // Read late: a plugin's own scope may declare its routes' access in an onRoute hook that runs after this one.
      routeTable.push({
        method,
        url: route.url,
        operationId,
        get access() {
          return route.config?.access;
        },
      });
    }
  });

  // ioredis is loaded only when Redis is configured.
  const redisDriver = !deps.redis && config.REDIS_URL ? await import('./infra/redis.ts') : undefined;
  const ownedRedis = config.REDIS_URL ? redisDriver?.createRedis(config.REDIS_URL, app.log) : undefined;
  const redis = deps.redis ?? ownedRedis;
  const mailTransport =
    deps.mailTransport ?? (config.SMTP_URL ? smtpTransport(config.SMTP_URL) : outboxFilesTransport(join(config.DATA_DIR, 'outbox'), app.log));

  // Filled in below by the modules whose mails carry files (receipts).
  const attachments: Record<string, AttachmentResolver> = {};
  const mailSender = createMailSender(
    db,
    mailTransport,
    clock,
    {
      from: config.MAIL_FROM,
      retryBaseMs: config.MAIL_RETRY_BASE_MS,
      maxAttempts: config.MAIL_MAX_ATTEMPTS,
    },
    attachments,
  );
  const mailWorker = periodic('mail', config.MAIL_POLL_INTERVAL_MS, mailSender.sendDue, app.log);
  const mailQueued = () => mailWorker.kick();

  const passwords = createPasswordHasher(config.BCRYPT_ROUNDS);
  const background = createBackgroundTasks(app.log);
  const storage = deps.storage ?? createStorage(config);
  const events = createEventHub();

  const users = createUsersService({ db, clock, passwords, storage, log: app.log, events, mailQueued });
  const tokens = createTokenService(
    {
      accessSecret: config.JWT_SECRET_KEY,
      refreshSecret: config.JWT_REFRESH_SECRET_KEY,
      accessTtlSeconds: config.ACCESS_TOKEN_TTL,
      refreshTtlSeconds: config.REFRESH_TOKEN_TTL,
    },
    clock,
  );
  const auth = createAuthService({
    db,
    clock,
    passwords,
    tokens,
    accounts: users.accounts,
    counters: createCounterFactory({ redis, prefix: config.RATE_LIMIT_PREFIX }),
    limits: {
      loginFailuresPerEmail: config.RATE_LIMIT_LOGIN_PER_EMAIL,
      loginFailuresPerEmailCeiling: config.RATE_LIMIT_LOGIN_PER_EMAIL_CEILING,
      emailActionsPerHour: config.RATE_LIMIT_EMAIL_PER_HOUR,
    },
    frontendUrl: config.FRONTEND_URL,
    mailQueued,
    background,
  });
  const bookings = createBookingsService({
    db,
    clock,
    frontendUrl: config.FRONTEND_URL,
    pendingTtlHours: config.BOOKING_PENDING_TTL_HOURS,
    paymentTtlHours: config.BOOKING_PAYMENT_TTL_HOURS,
    mailQueued,
    log: app.log,
    events,
    // Bound late: payments is built just below, and this is only called by requests.
    refundOf: (bookingId, percent) => payments.refundOf(bookingId, percent),
  });
  const sweeper = periodic('bookings-sweep', config.SWEEP_INTERVAL_MS, bookings.sweep, app.log);
  const payments = createPaymentsService({
    db,
    clock,
    log: app.log,
    // The simulated providers deliver their callbacks to this app's own routes.
    providers: createPaymentProviders(config, {
      clock,
      log: app.log,
      deliver: async (request) => ({
        statusCode: (await app.inject({ method: request.method, url: request.url, headers: request.headers, payload: request.body })).statusCode,
      }),
    }),
    mpesaCallbackToken: config.MPESA_CALLBACK_TOKEN,
    queryAfterMs: config.MPESA_QUERY_AFTER_S * 1000,
    providerTimeoutMs: config.PAYMENT_PROVIDER_TIMEOUT_MS,
    receipts: createReceiptRenderer({ threads: 1 }),
    mailQueued,
  });
  attachments.receipt = payments.receiptAttachment;
  const paymentSweeper = periodic('payments-sweep', config.PAYMENT_SWEEP_INTERVAL_MS, payments.sweep, app.log);
  const spaces = createSpacesService({
    db,
    clock,
    storage,
    log: app.log,
    events,
    accounts: users.accounts,
    windowCondition: bookings.windowCondition,
    bookingFigures: async (ownerId) => ({ bookings_by_status: await bookings.stats(ownerId), revenue: await payments.revenue(ownerId) }),
  });
  const spacesSweeper = periodic('spaces-sweep', config.SWEEP_INTERVAL_MS, spaces.sweep, app.log);
  const testimonials = createTestimonialsService({ db, clock });
  const reviews = createReviewsService({ db, clock, spaces, hasCompletedBooking: bookings.hasCompletedBooking });
  const admin = createAdminService({
    db,
    figures: { users: users.roleCounts, spaces: spaces.catalogueCounts, bookingsByStatus: bookings.statusCounts, revenue: payments.monthlyRevenue },
  });
  const calendars = createCalendarService({ db, clock, tokens: createCalendarTokens(config.JWT_SECRET_KEY), publicUrl: config.PUBLIC_URL, spaces });

  // How one module's change reaches the others, each inside the transaction of the change.
  events.on('user.deactivated', auth.onUserDeactivated);
  events.on('user.deactivated', bookings.onUserDeactivated);
  events.on('user.deactivated', spaces.onOwnerDeactivated);
  events.on('user.email_changed', auth.onEmailChanged);
  events.on('space.archiving', bookings.onSpaceArchiving);
  events.on('booking.cancelled', payments.onBookingCancelled);

  const inFlight = trackInFlight(app);
  app.decorate('services', {
    database,
    clock,
    auth,
    passwords,
    mailWorker,
    spaces,
    bookings,
    payments,
    events,
    background,
    sweeper,
    paymentSweeper,
    spacesSweeper,
    storage,
    inFlight,
  } satisfies AppServices);

  // An empty body sent as JSON counts as no body; anything else must be valid JSON.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  // Only JSON (and, where a route says so, multipart) is accepted; plain text is a 415, not a string body.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if ((body as string).trim() === '') return done(null, undefined);
    if (nestsDeeperThan(body as string))
      return done(new AppError(400, 'validation_error', `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    return parseJson(request, body as string, done);
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // Token and personal answers are never cached (RFC 6749 §5.1): anything a signed-in caller gets,
  // and everything under the personal paths, errors included. A route may set its own policy.
  app.addHook('onSend', async (request, reply) => {
    if (!reply.hasHeader('cache-control') && (request.principal || PERSONAL_PATHS.test(request.url))) reply.header('cache-control', 'no-store');
  });

  app.addSchema(UserSchema);
  app.addSchema(ErrorSchema);
  app.addSchema(ImageSchema);
  app.addSchema(SpaceSchema);
  app.addSchema(BookingSchema);
  app.addSchema(PaymentSchema);
  app.addSchema(TestimonialSchema);
  app.addSchema(ReviewSchema);

  await app.register(validationPlugin, { builds: schemaBuilds });
  app.decorate('compileAllSchemas', () => schemaBuilds.compileAll());
  await app.register(errorsPlugin);
  // The legacy profile's origins are browsers by definition, so CORS must let them in.
  await app.register(securityPlugin, { corsOrigins: [...new Set([...config.CORS_ORIGINS, ...config.LEGACY_CLIENT_ORIGINS])] });
  // Before the routes: it attaches itself to the routes it changes as they are registered.
  await app.register(legacyClientPlugin, { origins: config.LEGACY_CLIENT_ORIGINS });
  await app.register(swaggerPlugin, { publicUrl: config.PUBLIC_URL, version: packageJson.version });
  await app.register(authPlugin, { auth });
  await app.register(multipartPlugin);
  if (storage.kind === 'local') await app.register(uploadsPlugin, { root: uploadsDir(config) });

  await app.register(systemRoutes, { database, version: packageJson.version });
  await app.register(authRoutes, {
    prefix: '/api/auth',
    auth,
    users,
    perIpPerMinute: config.RATE_LIMIT_AUTH_PER_IP,
    redis,
    redisPrefix: config.RATE_LIMIT_PREFIX,
  });
  await app.register(usersRoutes, { prefix: '/api/users', users, maxUploadBytes: config.MAX_UPLOAD_MB * 1024 * 1024 });
  await app.register(spacesRoutes, { prefix: '/api/spaces', spaces, maxUploadBytes: config.MAX_UPLOAD_MB * 1024 * 1024 });
  await app.register(spaceBookingsRoutes, { prefix: '/api/spaces', bookings, calendars });
  await app.register(bookingsRoutes, { prefix: '/api/bookings', bookings });
  await app.register(paymentsRoutes, { prefix: '/api/payments', payments });
  await app.register(paymentMethodsRoutes, { prefix: '/api/users/me/payment-methods', payments });
  await app.register(testimonialsRoutes, { prefix: '/api/testimonials', testimonials });
  await app.register(spaceReviewsRoutes, { prefix: '/api/spaces', reviews });
  await app.register(reviewsRoutes, { prefix: '/api/reviews', reviews });
  await app.register(adminRoutes, { prefix: '/api/admin', admin });

  if (redisDriver && ownedRedis) app.addHook('onReady', () => redisDriver.redisReady(ownedRedis, 2000));
  if (config.BACKGROUND_JOBS) {
    app.addHook('onReady', async () => {
      mailWorker.start();
      sweeper.start();
      paymentSweeper.start();
      spacesSweeper.start();
    });
  }
  app.addHook('onClose', async () => {
    await background.drained();
    await sweeper.stop();
    await paymentSweeper.stop();
    await spacesSweeper.stop();
    await mailWorker.stop();
    await payments.close();
    mailTransport.close();
    if (ownedRedis) await ownedRedis.quit().catch(() => ownedRedis.disconnect());
  });

  return app;
}
