/**
 * Business time comes from here, never from `new Date()` in services, so tests can move time
 * (token expiry, booking sweeps) without sleeping.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock a test can move; it starts at the given instant and stands still unless told. */
export class ManualClock implements Clock {
  #now: number;
  constructor(start: Date | string = new Date()) {
    this.#now = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.#now);
  }
  set(instant: Date | string): void {
    this.#now = new Date(instant).getTime();
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}
