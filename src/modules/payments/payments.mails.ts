import type { MailMessage } from '../../infra/mail/outbox.ts';
import { formatMoney, formatPeriod, paymentMethodLabel } from './payments.rules.ts';
import type { ReceiptData } from './receipt.pdf.ts';

/**
 * Payment notices, in the tone of the booking ones. Unlike those, times are in the space's own
 * zone: a receipt is kept and compared with the PDF attached, which shows local time.
 */

export interface MailAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

/**
 * The outbox stores no attachments yet; this is the shape it should accept (nodemailer's own
 * `attachments` entries), so the sending side can pass it through unchanged.
 */
export interface MailMessageWithAttachments extends MailMessage {
  attachments: MailAttachment[];
}

export const receiptFilename = (receipt: Pick<ReceiptData, 'receipt_number'>) => `${receipt.receipt_number.replace(/[^A-Za-z0-9-]/g, '')}.pdf`;

export function receiptMail(payer: { email: string; firstName: string }, receipt: ReceiptData, pdf: Buffer): MailMessageWithAttachments {
  const amount = formatMoney(receipt.amount, receipt.currency);
  const period = formatPeriod(receipt.start_time, receipt.end_time, receipt.timezone);
  const paidWith = `${paymentMethodLabel(receipt.payment_method)}${receipt.transaction_id ? `, transaction ${receipt.transaction_id}` : ''}`;
  const lines = [
    `Thank you for your payment of ${amount} for ${receipt.space.name}, ${period}.`,
    `Your receipt ${receipt.receipt_number} is attached as a PDF. Paid by ${paidWith}.`,
    `${receipt.space.name}: ${receipt.space.address}, ${receipt.space.city}.`,
  ];
  return {
    to: payer.email,
    subject: `Your Spacer receipt ${receipt.receipt_number}`,
    text: `Hello ${payer.firstName},\n\n${lines.join('\n\n')}\n\n— Spacer`,
    attachments: [{ filename: receiptFilename(receipt), contentType: 'application/pdf', content: pdf }],
  };
}
