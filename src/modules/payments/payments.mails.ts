import type { MailMessage } from '../../infra/mail/outbox.ts';
import { formatMoney, formatPeriod, paymentMethodLabel } from './payments.rules.ts';
import type { ReceiptData } from './receipt.pdf.ts';

/**
 * Payment notices, in the tone of the booking ones. Unlike those, times are in the space's own
 * zone: a receipt is kept and compared with the PDF attached, which shows local time.
 */

// Braces and underscores survive so a `{receipt_number}` slot filled in by SQL stays intact.
export const receiptFilename = (receipt: Pick<ReceiptData, 'receipt_number'>) => `${receipt.receipt_number.replace(/[^A-Za-z0-9{}_-]/g, '')}.pdf`;

/** The payer's receipt; the PDF is attached when the mail is sent, made from `source` (the payment). */
export function receiptMail(payer: { email: string; firstName: string }, receipt: ReceiptData, source: { kind: string; ref: string }): MailMessage {
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
    attachments: [{ ...source, filename: receiptFilename(receipt), contentType: 'application/pdf' }],
  };
}
