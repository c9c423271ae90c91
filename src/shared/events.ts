import type { Tx } from '../db/client.ts';
import type { BookingRow, CancellationPolicy, UserRow } from '../db/schema/index.ts';
import type { Principal } from './principal.ts';

/**
 * What one module's change means for another module's data. The module that makes the change
 * emits; the modules that care subscribe in app.ts. Handlers run inside the emitter's
 * transaction, one after the other in the order they were subscribed, so their writes commit or
 * roll back with the change itself; a handler that throws (an AppError) aborts the change. Work
 * that must not hold the transaction open (a provider call) is returned as a follow-up, which
 * the emitter runs after its commit (`runFollowUps`).
 */
export interface DomainEvents {
  /** An account was deactivated (sessions end, bookings are cancelled, spaces unlisted). */
  'user.deactivated': { userId: number; now: Date };
  /** An account's email changed and is not verified yet (a verification link is sent). */
  'user.email_changed': { user: Pick<UserRow, 'id' | 'email' | 'firstName' | 'isVerified'>; now: Date };
  /** A space is about to be archived; a subscriber may refuse (throw) or act first. */
  'space.archiving': { space: { id: number; ownerId: number; cancellationPolicy: CancellationPolicy }; force: boolean; actor: Principal; now: Date };
  /**
   * A pending or confirmed booking was cancelled or rejected. `refund` is what the space's
   * cancellation policy gives back of what was paid (all of it when the host side cancelled).
   */
  'booking.cancelled': { booking: BookingRow; byBooker: boolean; refund: { percent: number; rule: string }; now: Date };
}

export type EventName = keyof DomainEvents;
/** Runs after the emitter's commit; a failure is logged and left to the subscriber's own retries. */
export type FollowUp = () => Promise<void>;
export type EventHandler<E extends EventName> = (tx: Tx, event: DomainEvents[E]) => Promise<void | FollowUp>;

export interface EventHub {
  on<E extends EventName>(name: E, handler: EventHandler<E>): void;
  /** The follow-ups the handlers returned, for the emitter to run once committed. */
  emit<E extends EventName>(tx: Tx, name: E, event: DomainEvents[E]): Promise<FollowUp[]>;
}

/** Runs follow-ups one after the other; none stops the others, and none fails the caller. */
export async function runFollowUps(followUps: FollowUp[], log: { warn(details: object, message: string): void }): Promise<void> {
  for (const followUp of followUps) {
    try {
      await followUp();
    } catch (error) {
      log.warn({ err: error }, 'a follow-up of a committed change failed; it is retried by its own sweep');
    }
  }
}

export function createEventHub(): EventHub {
  const handlers = new Map<EventName, Array<EventHandler<never>>>();
  return {
    on(name, handler) {
      const list = handlers.get(name) ?? [];
      list.push(handler);
      handlers.set(name, list);
    },
    async emit(tx, name, event) {
      const followUps: FollowUp[] = [];
      for (const handler of handlers.get(name) ?? []) {
        const followUp = await (handler as EventHandler<typeof name>)(tx, event);
        if (followUp) followUps.push(followUp);
      }
      return followUps;
    },
  };
}
