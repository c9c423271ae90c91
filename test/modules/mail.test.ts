import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { eq, inArray } from 'drizzle-orm';
import { mailOutbox } from '../../src/db/schema/index.ts';
import { enqueueMail } from '../../src/infra/mail/outbox.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { buildTestApp, call, tempDir } from '../helpers/app.ts';
import { secondHandle, testDatabase } from '../helpers/database.ts';
import { uniqueEmail } from '../helpers/factories.ts';
import { queuedMails } from '../helpers/mail.ts';
import { startSmtpServer } from '../helpers/smtp.ts';

const database = await testDatabase();
const db = database.db;

const registerBody = (email: string) => ({ email, password: 'Secret123', first_name: 'Wanjiru', last_name: 'Kamau' });

describe('mail delivery over SMTP', () => {
  it('sends a queued verification mail through the relay and marks it sent', async () => {
    const smtp = await startSmtpServer();
    const app = await buildTestApp({ env: { SMTP_URL: smtp.url, MAIL_FROM: 'Spacer <hello@spacer.test>', FRONTEND_URL: 'https://spacer.example' } });
    const email = uniqueEmail('smtp');
    assert.equal((await call(app, 'POST', '/api/auth/register', { body: registerBody(email) })).status, 201);
    await app.services.mailWorker.runOnce();

    const delivered = smtp.received.filter((mail) => mail.to.includes(email));
    assert.equal(delivered.length, 1);
    assert.equal(delivered[0]!.from, 'hello@spacer.test');
    assert.match(delivered[0]!.raw, /Subject: Confirm your email address/);
    // The body travels quoted-printable: undo soft line breaks and =XX escapes before reading it.
    const body = delivered[0]!.raw.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    assert.match(body, /Confirm email: https:\/\/spacer\.example\/verify-email\?token=[\w-]{43}\r\n/);
    const [row] = await queuedMails(app, email);
    assert.equal(row!.status, 'sent');
    assert.ok(row!.sentAt instanceof Date);
    assert.equal(row!.attempts, 1);
  });

  it('keeps the mail when the relay refuses, and delivers it once the relay accepts again', async () => {
    const smtp = await startSmtpServer();
    smtp.state.refuse = true;
    const clock = new ManualClock();
    const app = await buildTestApp({ clock, env: { SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: '60000' } });
    const email = uniqueEmail('retry');

    const registered = await call(app, 'POST', '/api/auth/register', { body: registerBody(email) });
    assert.equal(registered.status, 201, 'a refusing relay does not fail the request');
    await app.services.mailWorker.runOnce();
    let [row] = await queuedMails(app, email);
    assert.equal(row!.status, 'pending');
    assert.equal(row!.attempts, 1);
    assert.match(row!.lastError ?? '', /451|temporarily/i);
    assert.equal(row!.nextAttemptAt.getTime(), clock.now().getTime() + 60_000);

    smtp.state.refuse = false;
    await app.services.mailWorker.runOnce();
    assert.equal(smtp.received.filter((mail) => mail.to.includes(email)).length, 0, 'not retried before its backoff');

    clock.advance(60_001);
    await app.services.mailWorker.runOnce();
    await app.services.mailWorker.runOnce();
    assert.equal(smtp.received.filter((mail) => mail.to.includes(email)).length, 1);
    [row] = await queuedMails(app, email);
    assert.equal(row!.status, 'sent');
    assert.equal(row!.attempts, 2);
  });

  it('keeps the mail when the relay is down altogether', async () => {
    const smtp = await startSmtpServer();
    await smtp.stop();
    const app = await buildTestApp({ env: { SMTP_URL: smtp.url } });
    const email = uniqueEmail('down');
    assert.equal((await call(app, 'POST', '/api/auth/register', { body: registerBody(email) })).status, 201);
    await app.services.mailWorker.runOnce();
    const [row] = await queuedMails(app, email);
    assert.equal(row!.status, 'pending');
    assert.match(row!.lastError ?? '', /ECONNREFUSED|connect/i);
  });

  it('doubles the delay after each failure and gives up after MAIL_MAX_ATTEMPTS', async () => {
    const smtp = await startSmtpServer();
    smtp.state.refuse = true;
    const clock = new ManualClock();
    const app = await buildTestApp({ clock, env: { SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: '1000', MAIL_MAX_ATTEMPTS: '3' } });
    const email = uniqueEmail('giveup');
    await call(app, 'POST', '/api/auth/register', { body: registerBody(email) });

    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const before = clock.now().getTime();
      await app.services.mailWorker.runOnce();
      const [row] = await queuedMails(app, email);
      assert.equal(row!.attempts, attempt);
      if (attempt < 3) {
        assert.equal(row!.status, 'pending');
        delays.push(row!.nextAttemptAt.getTime() - before);
        clock.advance(10_000);
      } else {
        assert.equal(row!.status, 'failed');
      }
    }
    assert.deepEqual(delays, [1000, 2000]);
  });

  it('never sends one mail twice when two workers run at the same time', async () => {
    const smtp = await startSmtpServer();
    const first = await buildTestApp({ env: { SMTP_URL: smtp.url } });
    const second = await buildTestApp({ database: await secondHandle(), env: { SMTP_URL: smtp.url } });
    const recipients = Array.from({ length: 40 }, () => uniqueEmail('pair'));
    const now = new Date();
    for (const to of recipients) await enqueueMail(db, { to, subject: 'Batch', text: 'hello' }, now);

    await Promise.all([first.services.mailWorker.runOnce(), second.services.mailWorker.runOnce(), first.services.mailWorker.runOnce()]);

    const delivered = smtp.received.filter((mail) => recipients.includes(mail.to[0]!));
    assert.equal(delivered.length, recipients.length);
    assert.equal(new Set(delivered.map((mail) => mail.to[0])).size, recipients.length);
    const rows = await db.select().from(mailOutbox).where(inArray(mailOutbox.toAddress, recipients));
    assert.ok(rows.every((row) => row.status === 'sent' && row.attempts === 1));
  });
});

describe('mail without SMTP_URL', () => {
  it('writes each mail as an .eml file in DATA_DIR/outbox', async () => {
    const dataDir = tempDir();
    const app = await buildTestApp({ env: { DATA_DIR: dataDir } });
    const email = uniqueEmail('file');
    await call(app, 'POST', '/api/auth/register', { body: registerBody(email) });
    await app.services.mailWorker.runOnce();
    const files = readdirSync(join(dataDir, 'outbox')).filter((name) => name.endsWith('.eml'));
    const contents = files.map((name) => readFileSync(join(dataDir, 'outbox', name), 'utf8'));
    const mine = contents.filter((text) => text.includes(`To: ${email}`));
    assert.equal(mine.length, 1);
    assert.match(mine[0]!, /Subject: Confirm your email address/);
    const [row] = await queuedMails(app, email);
    assert.equal(row!.status, 'sent');
  });
});

describe('background mail worker', () => {
  it('sends mail shortly after the request commits, without being asked', async () => {
    const smtp = await startSmtpServer();
    const app = await buildTestApp({ env: { SMTP_URL: smtp.url, BACKGROUND_JOBS: 'true', MAIL_POLL_INTERVAL_MS: '60000' } });
    const email = uniqueEmail('bg');
    await call(app, 'POST', '/api/auth/register', { body: registerBody(email) });
    for (let i = 0; i < 50 && !smtp.received.some((mail) => mail.to.includes(email)); i++) await sleep(50);
    assert.equal(smtp.received.filter((mail) => mail.to.includes(email)).length, 1);
    const [row] = await db.select().from(mailOutbox).where(eq(mailOutbox.toAddress, email));
    assert.equal(row!.status, 'sent');
  });
});

describe('the SMTP relay down and back', () => {
  it('keeps every mail pending with growing attempts and backoff while it is down, then delivers each exactly once', async () => {
    const smtp = await startSmtpServer();
    const port = Number(new URL(smtp.url).port);
    await smtp.stop();
    const clock = new ManualClock();
    const app = await buildTestApp({ clock, env: { SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: '1000', MAIL_MAX_ATTEMPTS: '10' } });
    const emails = Array.from({ length: 5 }, () => uniqueEmail('outage'));
    for (const email of emails) assert.equal((await call(app, 'POST', '/api/auth/register', { body: registerBody(email) })).status, 201);

    const waits: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const before = clock.now().getTime();
      await app.services.mailWorker.runOnce();
      const rows = await db.select().from(mailOutbox).where(inArray(mailOutbox.toAddress, emails));
      assert.equal(rows.length, emails.length);
      assert.ok(
        rows.every((row) => row.status === 'pending' && row.attempts === attempt),
        `attempt ${attempt}`,
      );
      waits.push(rows[0]!.nextAttemptAt.getTime() - before);
      clock.advance(waits.at(-1)! + 1);
    }
    assert.deepEqual(waits, [1000, 2000, 4000], 'the delay doubles');

    const back = await startSmtpServer({ port });
    await app.services.mailWorker.runOnce();
    await app.services.mailWorker.runOnce();
    for (const email of emails) assert.equal(back.received.filter((mail) => mail.to.includes(email)).length, 1, email);
    const rows = await db.select().from(mailOutbox).where(inArray(mailOutbox.toAddress, emails));
    assert.ok(rows.every((row) => row.status === 'sent' && row.attempts === 4));
  });
});
