import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';

/**
 * bcrypt through its native binding: hashing runs on libuv's thread pool, so a login never
 * blocks the event loop.
 */
export function createPasswordHasher(rounds: number) {
  // Compared against when the email is unknown, so a wrong email costs the same work as a wrong password.
  let dummyHash: Promise<string> | undefined;
  const dummy = () => (dummyHash ??= bcrypt.hash(randomBytes(16).toString('hex'), rounds));

  return {
    hash: (password: string) => bcrypt.hash(password, rounds),
    verify: (password: string, hash: string) => bcrypt.compare(password, hash),
    /** Spends one comparison's worth of time and always fails. */
    async verifyNothing(password: string): Promise<false> {
      await bcrypt.compare(password, await dummy());
      return false;
    },
    /** True when a stored hash was made at another cost and should be redone after a successful login. */
    needsRehash: (hash: string) => bcrypt.getRounds(hash) !== rounds,
    /** Computes the dummy hash now rather than during the first unknown-email login (and starts the thread pool). */
    warmUp: async () => {
      await dummy();
    },
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;
