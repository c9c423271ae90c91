import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as usersRepo from '../../src/modules/users/users.repository.ts';
import { cliSandbox } from '../helpers/cli.ts';
import { uniqueEmail } from '../helpers/factories.ts';

const { withDatabase, run } = await cliSandbox();

const createAdmin = (...args: string[]) => run('src/cli/create-admin.ts', args);

function assertOneLineFailure(result: ReturnType<typeof run>, pattern: RegExp) {
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /);
}

describe('npm run db:migrate', () => {
  it('applies the migrations and says so', () => {
    const result = run('src/cli/migrate.ts', []);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Migrations applied/);
  });
});

describe('npm run admin:create', () => {
  it('creates a verified admin who can log in with the given password', async () => {
    const email = uniqueEmail('Admin');
    const result = createAdmin('--email', email, '--password', 'Adm1nPass', '--first-name', 'Grace', '--last-name', 'Wambui');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Created admin/);
    await withDatabase(async ({ db }) => {
      const user = await usersRepo.findByEmail(db, email);
      assert.equal(user?.role, 'admin');
      assert.equal(user?.isVerified, true);
      assert.equal(user?.firstName, 'Grace');
      assert.equal(user?.email, email.toLowerCase());
      const bcrypt = (await import('bcrypt')).default;
      assert.equal(await bcrypt.compare('Adm1nPass', user.passwordHash), true);
    });
  });

  it('promotes an existing user, keeping the password when none is given', async () => {
    const email = uniqueEmail('client');
    await withDatabase(async ({ db }) => {
      const now = new Date();
      await usersRepo.insert(db, { email, passwordHash: 'unchanged-hash', firstName: 'C', lastName: 'L', role: 'client', createdAt: now, updatedAt: now });
    });
    const result = createAdmin('--email', email.toUpperCase());
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Promoted .* to admin/);
    await withDatabase(async ({ db }) => {
      const user = await usersRepo.findByEmail(db, email);
      assert.equal(user?.role, 'admin');
      assert.equal(user?.passwordHash, 'unchanged-hash');
    });
  });

  it('refuses a missing or malformed email with one line and exit code 1', () => {
    assertOneLineFailure(createAdmin('--password', 'Adm1nPass'), /--email/);
    assertOneLineFailure(createAdmin('--email', 'not-an-email', '--password', 'Adm1nPass'), /--email/);
  });

  it('refuses a weak password', async () => {
    const email = uniqueEmail('weak');
    assertOneLineFailure(createAdmin('--email', email, '--password', 'password'), /Password must contain a digit/);
    await withDatabase(async ({ db }) => assert.equal(await usersRepo.findByEmail(db, email), undefined));
  });

  it('asks for --password when it cannot prompt (no terminal)', () => {
    assertOneLineFailure(createAdmin('--email', uniqueEmail('nopw')), /--password is required/);
  });

  it('refuses unknown options with the usage', () => {
    assertOneLineFailure(createAdmin('--email', uniqueEmail(), '--role', 'owner'), /Usage: npm run admin:create/);
  });
});
