import type { FastifyReply } from 'fastify';

/**
 * An Idempotency-Key replay: the stored answer byte for byte (a string, so Fastify sends it
 * without serializing again), marked as replayed.
 */
export const sendReplayed = (reply: FastifyReply, json: string) =>
  reply.status(201).header('idempotent-replayed', 'true').type('application/json; charset=utf-8').send(json);
