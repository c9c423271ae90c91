import type { BookingRow } from '../../db/schema/index.ts';
import type { MailMessage } from '../../infra/mail/outbox.ts';

/** Booking notices. Times are written in UTC with the space's name; links lead to the booking. */

const when = (booking: Pick<BookingRow, 'startTime' | 'endTime'>) =>
  `${booking.startTime.toISOString().replace('T', ' ').slice(0, 16)}–${booking.endTime.toISOString().slice(11, 16)} UTC`;

const link = (frontendUrl: string, booking: Pick<BookingRow, 'id'>) => `${frontendUrl}/bookings/${booking.id}`;

function notice(to: string, firstName: string, subject: string, lines: string[]): MailMessage {
  return { to, subject, text: `Hello ${firstName},\n\n${lines.join('\n\n')}\n\n— Spacer` };
}

export const newRequestMail = (owner: { email: string; firstName: string }, booking: BookingRow, spaceName: string, frontendUrl: string) =>
  notice(owner.email, owner.firstName, `New booking request for ${spaceName}`, [
    `${spaceName} has a new booking request for ${when(booking)} (${booking.guests} guest${booking.guests === 1 ? '' : 's'}).`,
    `Approve or reject it: ${link(frontendUrl, booking)}`,
    'Requests not answered within a day, or by their start, expire.',
  ]);

export const approvedMail = (client: { email: string; firstName: string }, booking: BookingRow, spaceName: string, frontendUrl: string) =>
  notice(client.email, client.firstName, `Your booking at ${spaceName} is confirmed`, [
    `Your booking of ${spaceName} for ${when(booking)} is confirmed.`,
    `Details and payment: ${link(frontendUrl, booking)}`,
  ]);

export const rejectedMail = (client: { email: string; firstName: string }, booking: BookingRow, spaceName: string, frontendUrl: string) =>
  notice(client.email, client.firstName, `Your booking request for ${spaceName} was declined`, [
    `The host declined your request for ${when(booking)}${booking.cancellationReason ? `: ${booking.cancellationReason}` : '.'}`,
    `Find another time or space: ${frontendUrl}/spaces`,
  ]);

export const cancelledMail = (client: { email: string; firstName: string }, booking: BookingRow, spaceName: string, frontendUrl: string) =>
  notice(client.email, client.firstName, `Your booking at ${spaceName} was cancelled`, [
    `Your booking of ${spaceName} for ${when(booking)} was cancelled${booking.cancellationReason ? `: ${booking.cancellationReason}` : '.'}`,
    `Details: ${link(frontendUrl, booking)}`,
  ]);

export const expiredMail = (client: { email: string; firstName: string }, booking: BookingRow, spaceName: string, frontendUrl: string) =>
  notice(client.email, client.firstName, `Your booking request for ${spaceName} expired`, [
    `The host did not answer your request for ${when(booking)} in time, so it has expired and the time is free again.`,
    `Find another time or space: ${frontendUrl}/spaces`,
  ]);

export const unpaidMail = (client: { email: string; firstName: string }, booking: BookingRow, spaceName: string, frontendUrl: string) =>
  notice(client.email, client.firstName, `Your booking at ${spaceName} was cancelled: not paid`, [
    `Your booking of ${spaceName} for ${when(booking)} was confirmed but not paid in time, so it has been cancelled and the time is free again.`,
    `Book again: ${frontendUrl}/spaces`,
  ]);
