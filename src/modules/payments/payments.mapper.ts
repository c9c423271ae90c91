import type { PaymentMethodRow, PaymentRow } from '../../db/schema/index.ts';
import type { PaymentContext } from './payments.repository.ts';
import type { PaymentResponse, ReceiptResponse, StoredPaymentMethodResponse } from './payments.schemas.ts';

const major = (minor: number) => minor / 100;

export function toPaymentResponse(payment: PaymentRow): PaymentResponse {
  return {
    id: payment.id,
    booking_id: payment.bookingId,
    user_id: payment.userId,
    amount: major(payment.amount),
    refunded_amount: major(payment.refundedAmount),
    currency: payment.currency,
    payment_method: payment.method,
    status: payment.status,
    transaction_id: payment.transactionId,
    checkout_request_id: payment.checkoutRequestId,
    receipt_number: payment.receiptNumber,
    failure_reason: payment.failureReason,
    created_at: payment.createdAt.toISOString(),
    updated_at: payment.updatedAt.toISOString(),
    completed_at: payment.completedAt?.toISOString() ?? null,
  };
}

/** Minutes of the booking as hours, to 2 decimals, as the booking shows them. */
const hoursOf = (start: Date, end: Date) => Math.round(((end.getTime() - start.getTime()) / 3_600_000) * 100) / 100;

/**
 * The receipt of a paid (or since refunded) payment. The rate is the booking's own: its total
 * over its hours, so a price changed since the booking does not show.
 */
export function toReceipt(
  { payment, booking, space, payer }: PaymentContext,
  receiptNumber = payment.receiptNumber ?? '',
): ReceiptResponse & { timezone: string } {
  const hours = hoursOf(booking.startTime, booking.endTime);
  const minutes = Math.round((booking.endTime.getTime() - booking.startTime.getTime()) / 60_000);
  return {
    receipt_number: receiptNumber,
    issued_at: (payment.completedAt ?? payment.updatedAt).toISOString(),
    payment_id: payment.id,
    booking_id: booking.id,
    payer: { name: `${payer.firstName} ${payer.lastName}`.trim(), email: payer.email },
    space: { id: space.id, name: space.name, address: space.address, city: space.city },
    start_time: booking.startTime.toISOString(),
    end_time: booking.endTime.toISOString(),
    hours,
    rate: Math.round((payment.amount * 60) / minutes) / 100,
    amount: major(payment.amount),
    currency: payment.currency,
    payment_method: payment.method,
    transaction_id: payment.transactionId,
    timezone: space.timezone,
  };
}

export function toStoredMethodResponse(method: PaymentMethodRow): StoredPaymentMethodResponse {
  return {
    id: method.id,
    type: method.type,
    label: method.label,
    ...(method.phoneNumber ? { phone_number: method.phoneNumber } : {}),
    ...(method.brand ? { brand: method.brand } : {}),
    ...(method.last4 ? { last4: method.last4 } : {}),
    is_default: method.isDefault,
    created_at: method.createdAt.toISOString(),
  };
}
