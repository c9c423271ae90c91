import { desc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { mailOutbox } from '../../src/db/schema/index.ts';

/** Mails queued for an address, newest first, as stored in the outbox table. */
export async function queuedMails(app: FastifyInstance, to: string) {
  return app.services.database.db.select().from(mailOutbox).where(eq(mailOutbox.toAddress, to.toLowerCase())).orderBy(desc(mailOutbox.id));
}

/** The token in the newest mail to `to` whose subject matches. */
export async function tokenFromMail(app: FastifyInstance, to: string, subject: RegExp): Promise<string> {
  const mail = (await queuedMails(app, to)).find((row) => subject.test(row.subject));
  if (!mail) throw new Error(`no mail matching ${subject} to ${to}`);
  const match = /token=([A-Za-z0-9_%-]+)/.exec(mail.textBody);
  if (!match) throw new Error('mail has no token link');
  return decodeURIComponent(match[1]!);
}
