import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, timestamptz } from './columns.ts';
import { isOneOf } from './value-lists.ts';

/**
 * A file the worker attaches when it sends: named here, produced at send time by the module that
 * registered `kind` (a receipt PDF from its payment id), so queueing a mail stays cheap.
 */
export interface MailAttachmentRef {
  kind: string;
  ref: string;
  filename: string;
  contentType: string;
}

export const MAIL_STATUSES = ['pending', 'sent', 'failed'] as const;
export type MailStatus = (typeof MAIL_STATUSES)[number];

/**
 * The durable mail queue: rows are written in the transaction of the change that causes them and
 * sent later by the worker, so a dead relay neither fails a request nor loses a mail.
 */
export const mailOutbox = pgTable(
  'mail_outbox',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    toAddress: text('to_address').notNull(),
    subject: text('subject').notNull(),
    textBody: text('text_body').notNull(),
    htmlBody: text('html_body'),
    attachments: jsonb('attachments').$type<MailAttachmentRef[]>(),
    status: text('status').$type<MailStatus>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamptz('next_attempt_at').notNull().defaultNow(),
    /** A claim: while in the future, one worker owns the row. */
    lockedUntil: timestamptz('locked_until'),
    lastError: text('last_error'),
    createdAt: createdAt(),
    sentAt: timestamptz('sent_at'),
  },
  (t) => [
    index('mail_outbox_due_idx')
      .on(t.nextAttemptAt, t.id)
      .where(sql`${t.status} = 'pending'`),
    check('mail_outbox_status_check', isOneOf(t.status, MAIL_STATUSES)),
  ],
);

export type MailRow = typeof mailOutbox.$inferSelect;
