import { mkdirSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { PUBLIC } from '../shared/access.ts';

/**
 * Serves locally stored images at /uploads/. Names are random and files never change, so they
 * may be cached for a year; @fastify/static refuses paths that leave the folder.
 */
async function uploadsPlugin(app: FastifyInstance, options: { root: string }) {
  mkdirSync(options.root, { recursive: true });
  // Image URLs are public by design (unguessable names); @fastify/static declares nothing itself.
  await app.register(async (files) => {
    files.addHook('onRoute', (route) => {
      route.config = { ...route.config, access: PUBLIC };
    });
    await files.register(fastifyStatic, {
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
  });
}

export default fp(uploadsPlugin, { name: 'uploads' });
