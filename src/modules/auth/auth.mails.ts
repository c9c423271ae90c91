import type { MailMessage } from '../../infra/mail/outbox.ts';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function linkMail(to: string, firstName: string, subject: string, intro: string, action: string, link: string, outro: string): MailMessage {
  const text = `Hello ${firstName},\n\n${intro}\n\n${action}: ${link}\n\n${outro}\n\n— Spacer`;
  const html =
    `<p>Hello ${escapeHtml(firstName)},</p><p>${escapeHtml(intro)}</p>` +
    `<p><a href="${escapeHtml(link)}">${escapeHtml(action)}</a></p>` +
    `<p>${escapeHtml(outro)}</p><p>— Spacer</p>`;
  return { to, subject, text, html };
}

export const verificationMail = (to: string, firstName: string, frontendUrl: string, token: string) =>
  linkMail(
    to,
    firstName,
    'Confirm your email address',
    'Please confirm that this is your email address for your Spacer account.',
    'Confirm email',
    `${frontendUrl}/verify-email?token=${encodeURIComponent(token)}`,
    'The link is valid for 24 hours. If you did not create an account, ignore this mail.',
  );

export const passwordResetMail = (to: string, firstName: string, frontendUrl: string, token: string) =>
  linkMail(
    to,
    firstName,
    'Reset your Spacer password',
    'Someone (hopefully you) asked to reset the password of your Spacer account.',
    'Choose a new password',
    `${frontendUrl}/reset-password?token=${encodeURIComponent(token)}`,
    'The link works once and expires in 1 hour. If you did not ask for this, ignore this mail; your password stays as it is.',
  );
