import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { CliError, openForCli, runCli } from './context.ts';
import { passwordProblem } from '../modules/auth/auth.rules.ts';
import { createPasswordHasher } from '../infra/passwords.ts';
import * as usersRepo from '../modules/users/users.repository.ts';
import * as sessionsRepo from '../modules/auth/sessions.repository.ts';

const USAGE = 'Usage: npm run admin:create -- --email E [--password P] [--first-name F] [--last-name L]';
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Reads a password from the terminal without echoing it. */
async function askPassword(): Promise<string> {
  if (!process.stdin.isTTY) throw new CliError(`--password is required when not on a terminal. ${USAGE}`);
  let muted = false;
  const output = new Writable({
    write(chunk: string | Uint8Array, _encoding, done) {
      if (!muted) process.stdout.write(chunk);
      done();
    },
  });
  const prompt = createInterface({ input: process.stdin, output, terminal: true });
  try {
    const answer = prompt.question('Password: ');
    muted = true;
    const password = await answer;
    process.stdout.write('\n');
    return password;
  } finally {
    prompt.close();
  }
}

await runCli(async () => {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        email: { type: 'string' },
        password: { type: 'string' },
        'first-name': { type: 'string' },
        'last-name': { type: 'string' },
      },
      strict: true,
    }));
  } catch (error) {
    throw new CliError(`${(error as Error).message}. ${USAGE}`);
  }
  const email = values.email?.trim();
  if (!email || !EMAIL.test(email) || email.length > 254) throw new CliError(`A valid --email is required. ${USAGE}`);
  const firstName = (values['first-name'] ?? 'Admin').trim();
  const lastName = (values['last-name'] ?? 'User').trim();
  if (!firstName || !lastName || firstName.length > 100 || lastName.length > 100) throw new CliError('Names must be 1–100 characters.');

  const { config, database } = await openForCli();
  try {
    const existing = await usersRepo.findByEmail(database.db, email);
    // Promoting keeps the user's password unless a new one is given; creating needs one.
    const password = values.password ?? (existing ? undefined : await askPassword());
    if (password !== undefined) {
      const problem = passwordProblem(password);
      if (problem) throw new CliError(`Password ${problem}.`);
    }
    const passwordHash = password === undefined ? undefined : await createPasswordHasher(config.BCRYPT_ROUNDS).hash(password);
    const now = new Date();

    if (existing) {
      await database.db.transaction(async (tx) => {
        await usersRepo.updateById(tx, existing.id, { role: 'admin', isActive: true, isVerified: true, ...(passwordHash ? { passwordHash } : {}) }, now);
        // Sessions opened with the old password should not outlive its replacement.
        if (passwordHash) await sessionsRepo.revokeByUserId(tx, { userId: existing.id, reason: 'password_changed', now });
      });
      console.log(`Promoted ${existing.email} (id ${existing.id}) to admin${passwordHash ? ' and set a new password' : ''}.`);
    } else {
      const user = await usersRepo.insert(database.db, {
        email,
        passwordHash: passwordHash!,
        firstName,
        lastName,
        role: 'admin',
        isVerified: true,
        createdAt: now,
        updatedAt: now,
      });
      console.log(`Created admin ${user.email} (id ${user.id}).`);
    }
  } finally {
    await database.close();
  }
});
