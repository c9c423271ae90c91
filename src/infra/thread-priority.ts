import { readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Lowers the scheduling priority of libuv's thread pool, where bcrypt hashes. Under a burst of
 * logins the hashing threads could otherwise take every core from the event loop; niced, they
 * use only the CPU time that request handling leaves over, so throughput stays the same and
 * latency of everything else stays low. Linux only (elsewhere it does nothing); threads are
 * found by the name libuv gives them, so this must run after the pool has started.
 */
export function lowerThreadPoolPriority(niceness = 10): number {
  if (process.platform !== 'linux') return 0;
  let changed = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (!readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').startsWith('libuv-worker')) continue;
      // On Linux a thread id is accepted wherever a pid is, and affects that thread alone.
      setPriority(Number(tid), niceness);
      changed++;
    } catch {
      // A thread that ended meanwhile, or a kernel that refuses: leave it as it is.
    }
  }
  return changed;
}
