import { ConfigError, loadConfig, loadEnvFile, type Config } from '../config.ts';
import { openDatabase, type Database } from '../db/client.ts';

/** Shared start of every command: config from the environment (and .env), then the database, migrated. */
export async function openForCli(): Promise<{ config: Config; database: Database }> {
  loadEnvFile();
  const config = loadConfig(process.env);
  const database = await openDatabase(config);
  await database.migrate();
  return { config, database };
}

/** Ends a command with one clear line on expected failures, never a stack trace. */
export async function runCli(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    const known = error instanceof ConfigError || error instanceof CliError;
    console.error(known ? error.message : `Failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

export class CliError extends Error {}
