import { and, asc, eq, inArray, isNull, lte, lt, or, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.ts';
import { mailOutbox, type MailRow } from '../../db/schema/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { MailTransport } from './transports.ts';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/** Queue a mail inside the caller's transaction: it exists exactly when the change that caused it commits. */
export async function enqueueMail(db: DbOrTx, mail: MailMessage, now: Date): Promise<void> {
  await db.insert(mailOutbox).values({
    toAddress: mail.to,
    subject: mail.subject,
    textBody: mail.text,
    htmlBody: mail.html ?? null,
    nextAttemptAt: now,
    createdAt: now,
  });
}

export interface MailWorkerSettings {
  from: string;
  retryBaseMs: number;
  maxAttempts: number;
  batchSize?: number;
  /** How long a claim lasts; a worker that dies mid-send frees its rows after this. */
  leaseMs?: number;
}

const MAX_BACKOFF_MS = 60 * 60 * 1000;

const backoffMs = (attempts: number, baseMs: number) => Math.min(baseMs * 2 ** Math.max(0, attempts - 1), MAX_BACKOFF_MS);

/**
 * Takes due mail in batches and sends it. A claim is one statement over rows locked with SKIP
 * LOCKED, so any number of processes can run this and none sends a mail another has claimed.
 */
export function createMailSender(db: Db, transport: MailTransport, clock: Clock, settings: MailWorkerSettings) {
  const batchSize = settings.batchSize ?? 20;
  const leaseMs = settings.leaseMs ?? 120_000;

  async function claim(): Promise<MailRow[]> {
    const now = clock.now();
    const due = db
      .select({ id: mailOutbox.id })
      .from(mailOutbox)
      .where(and(eq(mailOutbox.status, 'pending'), lte(mailOutbox.nextAttemptAt, now), or(isNull(mailOutbox.lockedUntil), lt(mailOutbox.lockedUntil, now))))
      .orderBy(asc(mailOutbox.nextAttemptAt), asc(mailOutbox.id))
      .limit(batchSize)
      .for('update', { skipLocked: true });
    return db
      .update(mailOutbox)
      .set({ lockedUntil: new Date(now.getTime() + leaseMs), attempts: sql`${mailOutbox.attempts} + 1` })
      .where(inArray(mailOutbox.id, due))
      .returning();
  }

  async function deliver(row: MailRow): Promise<boolean> {
    try {
      await transport.send({
        from: settings.from,
        to: row.toAddress,
        subject: row.subject,
        text: row.textBody,
        html: row.htmlBody,
        messageId: `<outbox-${row.id}.${row.createdAt.getTime()}@spacer>`,
      });
      await db
        .update(mailOutbox)
        .set({ status: 'sent', sentAt: clock.now(), lockedUntil: null, lastError: null })
        .where(eq(mailOutbox.id, row.id));
      return true;
    } catch (error) {
      const giveUp = row.attempts >= settings.maxAttempts;
      await db
        .update(mailOutbox)
        .set({
          status: giveUp ? 'failed' : 'pending',
          lockedUntil: null,
          lastError: String((error as Error).message ?? error).slice(0, 500),
          nextAttemptAt: new Date(clock.now().getTime() + backoffMs(row.attempts, settings.retryBaseMs)),
        })
        .where(eq(mailOutbox.id, row.id));
      return false;
    }
  }

  /** Sends everything due now (or until `signal` aborts); returns how many were sent and how many failed. */
  async function sendDue(signal?: AbortSignal): Promise<{ sent: number; failed: number }> {
    let sent = 0;
    let failed = 0;
    while (!signal?.aborted) {
      const batch = await claim();
      for (const row of batch) {
        if (await deliver(row)) sent++;
        else failed++;
      }
      if (batch.length < batchSize) break;
    }
    return { sent, failed };
  }

  return { sendDue };
}
