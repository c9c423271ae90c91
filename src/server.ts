import cluster from 'node:cluster';
import { flushCompileCache } from 'node:module';
import { ConfigError, loadConfig, loadEnvFile, type Config } from './config.ts';

/**
 * Entry point: config → database (migrated) → app → listen; stops cleanly on SIGTERM/SIGINT.
 * With WEB_CONCURRENCY > 1 this process becomes the primary of src/cluster.ts instead, and each of
 * its workers runs this file again, down the single-process path.
 */

const SHUTDOWN_LIMIT_MS = 10_000;

async function main() {
  loadEnvFile();
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  // The primary has already loaded the config, so development secrets exist in DATA_DIR before any
  // worker reads them (workers generating their own at once would each sign with different keys).
  if (config.WEB_CONCURRENCY > 1 && cluster.isPrimary) {
    const { runPrimary } = await import('./cluster.ts');
    runPrimary(config);
    return;
  }
  await serve(config);
}

async function serve(config: Config) {
  // Loaded here, not at the top: the primary of a cluster never needs the app or a database.
  const { buildApp } = await import('./app.ts');
  const { openDatabase } = await import('./db/client.ts');
  const { lowerThreadPoolPriority } = await import('./infra/thread-priority.ts');

  // The pool exists before the app (and its logger) does; errors are routed once both exist.
  const poolErrors: { report: (error: Error) => void } = { report: () => {} };
  const database = await openDatabase(config, { onPoolError: (error) => poolErrors.report(error) });
  await database.migrate();
  const app = await buildApp(config, { database });
  poolErrors.report = (error) => app.log.warn({ err: error }, 'idle database connection failed');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      app.log.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS);
    force.unref();
    // Keep-alive connections that finish their last request after close() began would stay
    // open until their timeout; close each as soon as it is idle.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
    sweep.unref();
    try {
      const closed = app.close();
      // A client that gave up mid-request can leave its connection open with nothing to answer,
      // and its handler still running: once every handler is done, such connections are cut.
      await app.services.inFlight.drained(SHUTDOWN_LIMIT_MS - 2000);
      setTimeout(() => app.server.closeAllConnections(), 500).unref();
      await closed;
      clearInterval(sweep);
      await database.close();
      process.exit(0);
    } catch (error) {
      app.log.error({ err: error }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  await app.services.passwords.warmUp();
  const niced = lowerThreadPoolPriority();
  await app.listen({ port: config.PORT, host: config.HOST });
  // Written now rather than at exit, so a process that is killed still leaves it for the next start.
  flushCompileCache();
  app.log.info({ database: database.kind, docs: `${config.PUBLIC_URL}/api/docs`, nicedPoolThreads: niced }, 'Spacer API ready');
}

main().catch((error) => {
  console.error(`Start-up failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
