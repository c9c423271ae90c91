/**
 * How long `npm start` takes to become ready on the embedded database, and how much memory it holds.
 *
 *   npm run bench:startup [-- --later 3]
 *
 * Runs `npm start` exactly as a newcomer would (no environment but PATH, PORT and DATA_DIR), first
 * on a DATA_DIR that does not exist yet (what a fresh clone's first start does: initdb, migrations,
 * development secrets), then `--later` more times on the same DATA_DIR. Each start is timed from the
 * spawn of npm to the first 200 from `/ready`; the server's RSS is read right then and again after
 * 5 s idle, and its peak (VmHWM) at the end. Prints a Markdown table.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { childrenOf, freePort, ROOT } from './harness.ts';

const { values } = parseArgs({ options: { later: { type: 'string', default: '3' } } });
const laterRuns = Math.max(1, Number(values.later));

/** Every process below `pid`, from /proc (npm → sh → node). */
function descendants(pid: number): number[] {
  let children: number[];
  try {
    children = childrenOf(pid);
  } catch {
    return [];
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}

function status(pid: number): { command: string; rssMb: number; peakMb: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? 0);
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    return { command, rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
  } catch {
    return undefined;
  }
}

/** The server: the node process below npm that runs src/server.ts (not the shell that started it). */
function serverPid(npmPid: number): number | undefined {
  return descendants(npmPid).find((pid) => {
    const command = status(pid)?.command ?? '';
    return command.includes('src/server.ts') && /(^|\/)node$/.test(command.split(' ')[0]!);
  });
}

interface Start {
  run: string;
  readyMs: number;
  rssAtReadyMb: number;
  rssIdleMb: number;
  peakMb: number;
}

async function start(run: string, dataDir: string): Promise<Start> {
  const port = await freePort();
  const began = performance.now();
  const npm = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), PORT: String(port), DATA_DIR: dataDir },
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: true,
  });
  const exited = new Promise<void>((resolve) => npm.on('exit', () => resolve()));
  try {
    let readyMs: number | undefined;
    while (readyMs === undefined) {
      if (npm.exitCode !== null) throw new Error(`npm start exited with ${npm.exitCode}`);
      if (performance.now() - began > 120_000) throw new Error('not ready after 120 s');
      try {
        const response = await fetch(`http://127.0.0.1:${port}/ready`);
        if (response.ok) readyMs = performance.now() - began;
        await response.arrayBuffer();
      } catch {
        // not listening yet
      }
      if (readyMs === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const pid = serverPid(npm.pid!);
    if (pid === undefined) throw new Error('the server process was not found under npm');
    const atReady = status(pid)!;
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const idle = status(pid)!;
    return { run, readyMs: Math.round(readyMs), rssAtReadyMb: atReady.rssMb, rssIdleMb: idle.rssMb, peakMb: idle.peakMb };
  } finally {
    // The whole group: npm, its shell and the server.
    try {
      process.kill(-npm.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    await exited;
  }
}

const dataDir = join(mkdtempSync(join(tmpdir(), 'spacer-startup-')), 'data');
const results: Start[] = [];
try {
  results.push(await start('first (new DATA_DIR)', dataDir));
  for (let i = 1; i <= laterRuns; i += 1) results.push(await start(`later ${i}`, dataDir));
} finally {
  rmSync(join(dataDir, '..'), { recursive: true, force: true });
}

console.log('| start | to /ready ms | RSS at ready MB | RSS after 5 s idle MB | peak RSS MB |');
console.log('|---|---:|---:|---:|---:|');
for (const r of results) console.log(`| ${r.run} | ${r.readyMs} | ${r.rssAtReadyMb} | ${r.rssIdleMb} | ${r.peakMb} |`);
