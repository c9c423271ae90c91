/**
 * One scenario on the current tree and on another revision, interleaved, with the ratio:
 *
 *   npm run bench:compare -- <scenario> --against <REV> [--rounds 5] [--db postgres|embedded]
 *     [--connections 32] [--duration 10] [--bcrypt-rounds 12] [--separate-databases]
 *
 * REV is checked out into a temporary git worktree; only its server (`node src/server.ts`) and,
 * on a database of its own, its seed are used. The load always comes from this tree's scenarios,
 * so both servers get exactly the same requests. See bench/README.md, "Comparing two revisions".
 */
import { execFileSync, type StdioOptions } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Cleanup } from './cleanup.ts';
import { interleavedOrder, renderReport, type Side } from './compare-stats.ts';
import { startDaraja, type DarajaProcess } from './daraja.ts';
import { ROOT, scratchDatabase, sqlRows, startService, type Figures } from './harness.ts';

const usage =
  'usage: npm run bench:compare -- <scenario> --against <REV> [--rounds 5] [--db postgres|embedded] [--connections 32] [--duration 10] [--bcrypt-rounds 12] [--separate-databases]';
/** A mistake on the command line: one line, no stack trace. */
function refuse(message: string): never {
  console.error(message);
  process.exit(2);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        against: { type: 'string' },
        rounds: { type: 'string', default: '5' },
        db: { type: 'string', default: 'postgres' },
        connections: { type: 'string', default: '32' },
        duration: { type: 'string', default: '10' },
        // `npm run bench` calls the bcrypt cost `--rounds`; here rounds are the comparison's.
        'bcrypt-rounds': { type: 'string', default: '12' },
        'separate-databases': { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    refuse(`${(error as Error).message}\n${usage}`);
  }
})();

if (positionals.length !== 1 || !values.against) refuse(usage);
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) refuse(`--rounds is a whole number ≥ 1, not ${values.rounds}`);
const order = interleavedOrder(rounds);
for (const name of ['connections', 'duration', 'bcrypt-rounds'] as const) {
  if (!Number.isInteger(Number(values[name])) || Number(values[name]) < 1) refuse(`--${name} is a whole number ≥ 1, not ${values[name]}`);
}
if (values.db !== 'postgres' && values.db !== 'embedded') refuse(`--db is postgres or embedded, not ${values.db}`);
const postgres = values.db === 'postgres';
const scenarioName = positionals[0]!;

// The scenarios read their settings from the command line when bench/run.ts is loaded.
process.argv = [
  process.argv[0]!,
  fileURLToPath(new URL('./run.ts', import.meta.url)),
  scenarioName,
  ...['--db', values.db, '--connections', values.connections, '--duration', values.duration, '--rounds', values['bcrypt-rounds']],
];
const { scenarios } = await import('./run.ts');
const scenario = scenarios[scenarioName] ?? refuse(`unknown scenario ${scenarioName}; known: ${Object.keys(scenarios).join(', ')}`);
if (scenario.postgresOnly && !postgres) refuse(`${scenarioName} needs --db postgres`);

const git = (args: string[], cwd = ROOT) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
/** Child output goes to stderr: stdout carries the report alone. */
const toStderr: StdioOptions = ['ignore', 2, 2];

interface Tree {
  side: Side;
  label: string;
  root: string;
}

/** Where a side's server finds its data: the same object for both sides when they share it. */
interface Prepared {
  databaseUrl?: string;
  /** DATA_DIR of every server of the side: the seed's images stay there between rounds. */
  dataDir: string;
}

const cleanup = new Cleanup();
/** Prints the rounds finished so far, once: at the end, after a failure or on Ctrl-C. */
let printReport: (() => void) | undefined;
let aborted = false;
const onSignal = (signal: NodeJS.Signals) => {
  aborted = true;
  process.exitCode = signal === 'SIGINT' ? 130 : 143;
  console.error(`\n${signal}: removing the servers, scratch databases and worktree (again to quit at once)…`);
  printReport?.();
  void cleanup.run().finally(() => process.exit());
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

/** Registers the undo before awaiting the start, so a Ctrl-C during the start undoes it too. */
async function tracked<T>(label: string, starting: Promise<T>, undo: (value: T) => Promise<void>) {
  const release = cleanup.add(label, async () => {
    const value = await starting.catch(() => undefined);
    if (value !== undefined) await undo(value);
  });
  return { value: await starting, release };
}

function checkNotAborted() {
  if (aborted) throw new Error('interrupted');
}

/** Same names, same bytes, recursively. */
function sameFiles(a: string, b: string): boolean {
  if (!existsSync(a) || !existsSync(b)) return existsSync(a) === existsSync(b);
  const names = (dir: string) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
  const listed = names(a);
  if (listed.join('\n') !== names(b).join('\n')) return false;
  return listed.every((name) => {
    const [x, y] = [lstatSync(join(a, name)), lstatSync(join(b, name))];
    if (x.isDirectory() || y.isDirectory()) return x.isDirectory() === y.isDirectory();
    return readFileSync(join(a, name)).equals(readFileSync(join(b, name)));
  });
}

/** REV in a detached worktree with its dependencies: this tree's node_modules when the lock file is the same. */
function checkOut(sha: string): string {
  const base = mkdtempSync(join(tmpdir(), 'spacer-compare-'));
  const tree = join(base, 'tree');
  cleanup.add('the worktree', () => {
    const modules = join(tree, 'node_modules');
    // Unlinked first: whatever removes the worktree must never follow it into this tree's modules.
    if (existsSync(modules) && lstatSync(modules).isSymbolicLink()) unlinkSync(modules);
    try {
      if (existsSync(tree)) git(['worktree', 'remove', '--force', tree]);
    } finally {
      rmSync(base, { recursive: true, force: true });
      git(['worktree', 'prune']);
    }
  });
  execFileSync('git', ['worktree', 'add', '--detach', tree, sha], { cwd: ROOT, stdio: toStderr });
  if (!existsSync(join(tree, 'src/server.ts')))
    throw new Error(`${values.against} has no src/server.ts: its server does not start the way the bench starts one`);
  const lock = (root: string) => (existsSync(join(root, 'package-lock.json')) ? readFileSync(join(root, 'package-lock.json')) : undefined);
  const [ours, theirs] = [lock(ROOT), lock(tree)];
  if (ours && theirs && ours.equals(theirs)) {
    console.error('▷ same package-lock.json: the worktree uses this tree’s node_modules');
    symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'), 'dir');
  } else {
    console.error('▷ package-lock.json differs: npm ci in the worktree');
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: tree, stdio: toStderr });
  }
  // The server reads .env from its working directory; both must see the same one.
  if (existsSync(join(ROOT, '.env'))) copyFileSync(join(ROOT, '.env'), join(tree, '.env'));
  return tree;
}

/** Fills a database through the given tree's seed command, as bench/run.ts does with this tree's. */
function seed(root: string, env: Record<string, string>) {
  const flags = (['spaces', 'bookings', 'payments', 'reviews'] as const).flatMap((name) => (scenario[name] ? [`--${name}`, String(scenario[name])] : []));
  execFileSync(process.execPath, ['src/cli/seed.ts', ...flags], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', BCRYPT_ROUNDS: '4', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function main() {
  let sha: string;
  try {
    sha = git(['rev-parse', '--verify', '--quiet', `${values.against}^{commit}`]);
  } catch {
    refuse(`${values.against} is not a revision of this repository`);
  }
  const revLabel = /^[0-9a-f]{40}$/i.test(values.against!) ? sha.slice(0, 9) : values.against!;
  const dirty = git(['status', '--porcelain']) !== '';
  const current: Tree = { side: 'current', label: 'current', root: ROOT };
  const rev: Tree = { side: 'rev', label: revLabel, root: checkOut(sha) };
  const trees = { current, rev };

  // Same migrations: one database, prepared once by this tree, so both servers read the very same
  // rows (and the same planner statistics). Otherwise each server migrates and seeds its own: a
  // server must never run against a schema its revision did not write.
  const shared = postgres && !values['separate-databases'] && sameFiles(join(ROOT, 'drizzle'), join(rev.root, 'drizzle'));
  const databases = !postgres
    ? 'one DATA_DIR (PGlite) per side, kept across its rounds'
    : shared
      ? 'one PostgreSQL database for both (the same migrations), seeded by the current tree'
      : `one PostgreSQL database per side, each migrated and seeded by its own tree (${values['separate-databases'] ? '--separate-databases' : 'the migrations differ'})`;

  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const daraja: DarajaProcess | undefined = scenario.daraja ? (await tracked('the Daraja fake', startDaraja(), (fake) => fake.stop())).value : undefined;
  // As bench/run.ts hands them on: server settings to compare, the same on both sides.
  const passThrough = Object.fromEntries(
    ['DB_POOL_MAX', 'BACKGROUND_JOBS', 'WEB_CONCURRENCY'].flatMap((key) => (process.env[key] ? [[key, process.env[key]]] : [])),
  );
  const serverEnv = (prepared: Prepared): Record<string, string> => ({
    BCRYPT_ROUNDS: values['bcrypt-rounds'],
    ...daraja?.serverEnv,
    ...scenario.env,
    ...passThrough,
    ...(prepared.databaseUrl ? { DATABASE_URL: prepared.databaseUrl } : {}),
    DATA_DIR: prepared.dataDir,
  });

  async function withServer<T>(tree: Tree, prepared: Prepared, use: (service: Awaited<ReturnType<typeof startService>>) => Promise<T>): Promise<T> {
    checkNotAborted();
    const { value: service, release } = await tracked(`the ${tree.label} server`, startService(serverEnv(prepared), tree.root), (started) => started.stop());
    try {
      const result = await use(service).catch((error: unknown) => {
        // A refused connection says little; that the server had gone, and how, says what happened.
        const ended = service.exitedEarly();
        throw ended ? new Error(`the ${tree.label} server ended (${ended})`, { cause: error }) : error;
      });
      const ended = service.exitedEarly();
      if (ended) throw new Error(`the ${tree.label} server ended (${ended})`);
      return result;
    } finally {
      await release();
    }
  }

  async function prepare(owner: Tree): Promise<Prepared> {
    checkNotAborted();
    const database = postgres ? (await tracked(`the ${owner.label} scratch database`, scratchDatabase(adminUrl), (db) => db.drop())).value : undefined;
    const dataDir = mkdtempSync(join(tmpdir(), `spacer-compare-data-`));
    cleanup.add(`the ${owner.label} data folder`, () => rmSync(dataDir, { recursive: true, force: true }));
    const prepared: Prepared = { databaseUrl: database?.url, dataDir };
    if ((scenario.spaces && database) || scenario.prepare) {
      console.error(`▷ preparing the data of ${shared ? 'both sides' : owner.label}`);
      // Its server migrates the database first, as in bench/run.ts; the embedded one belongs to the server, so only PostgreSQL is seeded.
      await withServer(owner, prepared, async (service) => {
        if (scenario.spaces && database) seed(owner.root, { DATABASE_URL: database.url, DATA_DIR: dataDir });
        await scenario.prepare?.({ service, databaseUrl: database?.url, daraja });
      });
      // Settled before the first round, which would otherwise meet autovacuum on the fresh rows
      // (and run on older statistics) while the rounds after it do not.
      if (database) await sqlRows(database.url, 'vacuum analyze');
    }
    return prepared;
  }

  const data: Record<Side, Prepared> = shared
    ? ((prepared) => ({ current: prepared, rev: prepared }))(await prepare(current))
    : { current: await prepare(current), rev: await prepare(rev) };

  const results: Record<Side, Figures[][]> = { current: [], rev: [] };
  const header = [
    `## ${scenarioName}: current (${git(['rev-parse', '--short', 'HEAD'])}${dirty ? ' + uncommitted changes' : ''}) against ${revLabel} (${git(['log', '-1', '--format=%h %s', sha])})`,
    '',
    `${values.db}, ${values.connections} connections, ${values.duration} s measured after the scenario's warm-up, ${rounds} round${rounds === 1 ? '' : 's'} in the order A B, B A, …; ${databases}.`,
  ];
  console.error(`▶ ${scenarioName}: ${scenario.description} — current against ${revLabel}, ${rounds} rounds`);
  printReport = () => {
    printReport = undefined;
    if (results.current.length > 0 || results.rev.length > 0)
      console.log([...header, ...renderReport({ revLabel, order, current: results.current, rev: results.rev })].join('\n'));
  };
  try {
    for (const [round, sides] of order.entries()) {
      for (const side of sides) {
        const tree = trees[side];
        const rows = await withServer(tree, data[side], (service) => scenario.run({ service, databaseUrl: data[side].databaseUrl, daraja, apiOnly: true }));
        results[side].push(rows);
        const first = rows[0]!;
        console.error(`  round ${round + 1}/${rounds}, ${tree.label}: ${first.scenario.trim()} ${first.requestsPerSecond} req/s, p99 ${first.p99Ms} ms`);
      }
    }
  } finally {
    // Whatever finished is reported, even when a later round failed.
    printReport?.();
  }
}

try {
  await main();
} catch (error) {
  // After Ctrl-C the failures of the interrupted servers are not news.
  if (!aborted) throw error;
} finally {
  await cleanup.run();
}
