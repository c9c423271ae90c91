import { and, asc, eq, inArray, isNull, lte, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.ts';
import { mailOutbox, type MailAttachmentRef, type MailRow } from '../../db/schema/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { MailTransport } from './transports.ts';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Produced when the mail is sent, by the resolver registered for each kind. */
  attachments?: MailAttachmentRef[];
}

/** Makes an attachment's bytes from its reference, at send time (a receipt PDF from a payment id). */
export type AttachmentResolver = (ref: string) => Promise<Buffer>;

/** The one mapping from a message to its queued row: every way of queueing mail writes exactly this. */
function outboxRow(mail: MailMessage, now: Date) {
  return {
    toAddress: mail.to,
    subject: mail.subject,
    textBody: mail.text,
    htmlBody: mail.html ?? null,
    attachments: mail.attachments && mail.attachments.length > 0 ? mail.attachments : null,
    nextAttemptAt: now,
    createdAt: now,
  } satisfies typeof mailOutbox.$inferInsert;
}

type OutboxColumn = keyof ReturnType<typeof outboxRow>;
const OUTBOX_COLUMNS = Object.keys(outboxRow({ to: '', subject: '', text: '' }, new Date(0))) as OutboxColumn[];
const placeholderName = (column: OutboxColumn) => `mail_${column}`;

/** Queue a mail inside the caller's transaction: it exists exactly when the change that caused it commits. */
export async function enqueueMail(db: DbOrTx, mail: MailMessage, now: Date): Promise<void> {
  await db.insert(mailOutbox).values(outboxRow(mail, now));
}

/**
 * For SQL that queues a mail in the same statement as another write (the booking CTE):
 * `insert into mail_outbox (…) select <placeholders> from <source>`, one row per row of `source`,
 * with the columns enqueueMail writes. Fill the placeholders with `queuedMailValues`. A column's
 * value may be wrapped in an expression over `source` (a receipt number known only there).
 */
export function insertQueuedMailFrom(source: SQL, wrap: Partial<Record<OutboxColumn, (value: SQL) => SQL>> = {}): SQL {
  const columns = OUTBOX_COLUMNS.map((column) => sql.identifier(mailOutbox[column].name));
  const values = OUTBOX_COLUMNS.map((column) => {
    const value = sql`${sql.placeholder(placeholderName(column))}::${sql.raw(mailOutbox[column].getSQLType())}`;
    return wrap[column]?.(value) ?? value;
  });
  return sql`insert into ${mailOutbox} (${sql.join(columns, sql`, `)}) select ${sql.join(values, sql`, `)} from ${source}`;
}

/** The placeholder values of insertQueuedMailFrom for one message. */
export function queuedMailValues(mail: MailMessage, now: Date): Record<string, unknown> {
  const row = outboxRow(mail, now);
  const param = (value: unknown) => (value instanceof Date ? value.toISOString() : value !== null && typeof value === 'object' ? JSON.stringify(value) : value);
  return Object.fromEntries(OUTBOX_COLUMNS.map((column) => [placeholderName(column), param(row[column])]));
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
export function createMailSender(
  db: Db,
  transport: MailTransport,
  clock: Clock,
  settings: MailWorkerSettings,
  attachments: Record<string, AttachmentResolver> = {},
) {
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

  async function filesOf(row: MailRow) {
    return Promise.all(
      (row.attachments ?? []).map(async (file) => {
        const resolve = attachments[file.kind];
        if (!resolve) throw new Error(`no attachment resolver for ${file.kind}`);
        return { filename: file.filename, contentType: file.contentType, content: await resolve(file.ref) };
      }),
    );
  }

  async function deliver(row: MailRow): Promise<boolean> {
    try {
      const files = await filesOf(row);
      await transport.send({
        from: settings.from,
        to: row.toAddress,
        subject: row.subject,
        text: row.textBody,
        html: row.htmlBody,
        messageId: `<outbox-${row.id}.${row.createdAt.getTime()}@spacer>`,
        ...(files.length > 0 ? { attachments: files } : {}),
      });
      await db.update(mailOutbox).set({ status: 'sent', sentAt: clock.now(), lockedUntil: null, lastError: null }).where(eq(mailOutbox.id, row.id));
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
