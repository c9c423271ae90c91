import type { FastifyInstance } from 'fastify';
import { call } from './app.ts';

/** The required fields of a listing, with plain values; `overrides` replace or add any field. */
export const spaceInput = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'Test Room',
  description: 'A quiet room for meetings.',
  address: '1 Test Road',
  city: 'Nairobi',
  price_per_hour: 1000,
  capacity: 10,
  ...overrides,
});

/** A listing created through the API (JSON) by the holder of `ownerToken`; the 201 body. */
export async function createSpace(app: FastifyInstance, ownerToken: string, overrides: Record<string, unknown> = {}): Promise<any> {
  const response = await call(app, 'POST', '/api/spaces', { token: ownerToken, body: spaceInput(overrides) });
  if (response.status !== 201) throw new Error(`create space failed: ${response.status} ${response.raw}`);
  return response.body;
}
