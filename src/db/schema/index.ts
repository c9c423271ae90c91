export * from './users.ts';
export * from './sessions.ts';
export * from './user-tokens.ts';
export * from './mail-outbox.ts';
export * from './spaces.ts';
export * from './bookings.ts';
export * from './payments.ts';
