import { mkdirSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * Serves locally stored images at /uploads/. Names are random and files never change, so they
 * may be cached for a year; @fastify/static refuses paths that leave the folder.
 */
async function uploadsPlugin(app: FastifyInstance, options: { root: string }) {
  mkdirSync(options.root, { recursive: true });
  await app.register(fastifyStatic, {
    root: options.root,
    prefix: '/uploads/',
    decorateReply: false,
    index: false,
    list: false,
    dotfiles: 'deny',
    immutable: true,
    maxAge: '365d',
    schemaHide: true,
  });
}

export default fp(uploadsPlugin, { name: 'uploads' });
