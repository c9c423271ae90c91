import type { Tx } from '../db/client.ts';
import type { BookingRow, CancellationPolicy, UserRow } from '../db/schema/index.ts';
import type { Principal } from './principal.ts';

/**
 * What one module's change means for another module's data. The module that makes the change
 * emits; the modules that care subscribe in app.ts. Handlers run inside the emitter's
 * transaction, one after the other in the order they were subscribed, so their writes commit or
 * roll back with the change itself; a handler that throws (an AppError) aborts the change.
 */
export interface DomainEvents {
  /** An account was deactivated (sessions end, bookings are cancelled, spaces unlisted). */
  'user.deactivated': { userId: number; now: Date };
  /** An account's email changed and is not verified yet (a verification link is sent). */
  'user.email_changed': { user: Pick<UserRow, 'id' | 'email' | 'firstName' | 'isVerified'>; now: Date };
  /** A space is about to be archived; a subscriber may refuse (throw) or act first. */
  'space.archiving': { space: { id: number; ownerId: number; cancellationPolicy: CancellationPolicy }; force: boolean; actor: Principal; now: Date };
  /** A pending or confirmed booking was cancelled or rejected; `byBooker` decides the refund. */
  'booking.cancelled': { booking: BookingRow; policy: CancellationPolicy; byBooker: boolean; now: Date };
}

export type EventName = keyof DomainEvents;
export type EventHandler<E extends EventName> = (tx: Tx, event: DomainEvents[E]) => Promise<void>;

export interface EventHub {
  on<E extends EventName>(name: E, handler: EventHandler<E>): void;
  emit<E extends EventName>(tx: Tx, name: E, event: DomainEvents[E]): Promise<void>;
}

export function createEventHub(): EventHub {
  const handlers = new Map<EventName, Array<EventHandler<never>>>();
  return {
    on(name, handler) {
      const list = handlers.get(name) ?? [];
      list.push(handler as EventHandler<never>);
      handlers.set(name, list);
    },
    async emit(tx, name, event) {
      for (const handler of handlers.get(name) ?? []) await (handler as EventHandler<typeof name>)(tx, event);
    },
  };
}
