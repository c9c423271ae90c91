import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type Nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html?: string | null;
  messageId: string;
  attachments?: Array<{ filename: string; contentType: string; content: Buffer }>;
}

/** Where mail finally goes. `send` resolves once the message is accepted, and throws otherwise. */
export interface MailTransport {
  readonly kind: 'smtp' | 'outbox-files';
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

const message = (mail: OutgoingMail) => ({
  from: mail.from,
  to: mail.to,
  subject: mail.subject,
  text: mail.text,
  ...(mail.html ? { html: mail.html } : {}),
  messageId: mail.messageId,
  ...(mail.attachments && mail.attachments.length > 0 ? { attachments: mail.attachments } : {}),
});

/**
 * nodemailer (~5 MB of live heap) is loaded by the first mail a process sends, not at start-up: a
 * process that sends none (a worker that only answers reads) never carries it.
 */
let nodemailerModule: Promise<typeof Nodemailer> | undefined;
const loadNodemailer = () => (nodemailerModule ??= import('nodemailer').then((module) => module.default));

/** A nodemailer transport made at the first send; closing before that closes nothing. */
function lazyTransporter(make: (nodemailer: typeof Nodemailer) => Transporter) {
  let transporter: Promise<Transporter> | undefined;
  return {
    get: () => (transporter ??= loadNodemailer().then(make)),
    close: () =>
      void transporter?.then(
        (made) => made.close(),
        () => {},
      ),
  };
}

export function smtpTransport(url: string): MailTransport {
  const transport = lazyTransporter((nodemailer) =>
    nodemailer.createTransport(url, {
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    } as object),
  );
  return {
    kind: 'smtp',
    async send(mail) {
      await (await transport.get()).sendMail(message(mail));
    },
    close: transport.close,
  };
}

/** The offline default: each mail becomes an .eml file a developer can open. */
export function outboxFilesTransport(dir: string, log: FastifyBaseLogger): MailTransport {
  const transport = lazyTransporter((nodemailer) => nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' }));
  return {
    kind: 'outbox-files',
    async send(mail) {
      const info = await (await transport.get()).sendMail(message(mail));
      await mkdir(dir, { recursive: true });
      const id = mail.messageId.replace(/[^A-Za-z0-9.-]/g, '');
      const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${id}.eml`);
      await writeFile(file, info.message as Buffer, { mode: 0o600 });
      // The body holds single-use links; the log says only where to find it.
      log.info({ file, subject: mail.subject }, 'mail written to outbox');
    },
    close: transport.close,
  };
}
