import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after } from 'node:test';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyRequest } from 'fastify';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url), 'utf8');

let trusted = false;

/** Lets this test process trust the loopback certificate, as it would trust Cloudinary's. */
function trustLoopbackCertificate() {
  if (trusted) return;
  setDefaultCACertificates([...getCACertificates('default'), fixture('loopback.crt')]);
  trusted = true;
}

export interface StoredAsset {
  publicId: string;
  folder: string;
  bytes: Buffer;
}

/**
 * A loopback HTTPS server answering Cloudinary's upload and destroy endpoints
 * (POST /v1_1/<cloud>/image/upload and …/destroy), checking each request's signature the way
 * Cloudinary documents it: every parameter except file, cloud_name, resource_type and api_key,
 * sorted, joined as k=v with &, followed by the API secret, hashed with SHA-1.
 */
export async function startFakeCloudinary(account = { cloudName: 'spacer-test', apiKey: '123456789012345', apiSecret: 'fake-cloudinary-secret' }) {
  trustLoopbackCertificate();
  const assets = new Map<string, StoredAsset>();
  const requests: Array<{ action: string; params: Record<string, string>; validSignature: boolean }> = [];
  const state = { failUploads: false };

  const server = Fastify({ https: { key: fixture('loopback.key'), cert: fixture('loopback.crt') } });
  await server.register(multipart, { limits: { fileSize: 20 * 1024 * 1024 } });

  const signatureOf = (params: Record<string, string>) => {
    const toSign = Object.entries(params)
      .filter(([key, value]) => !['file', 'cloud_name', 'resource_type', 'api_key', 'signature'].includes(key) && value !== '')
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, value]) => `${key}=${value}`.replace(/&/g, '%26'))
      .join('&');
    return createHash('sha1')
      .update(toSign + account.apiSecret)
      .digest('hex');
  };

  const verify = (params: Record<string, string>) => {
    const expected = Buffer.from(signatureOf(params));
    const given = Buffer.from(params.signature ?? '');
    const fresh = Math.abs(Date.now() / 1000 - Number(params.timestamp)) < 3600;
    return params.api_key === account.apiKey && fresh && given.length === expected.length && timingSafeEqual(given, expected);
  };

  const readForm = async (request: FastifyRequest) => {
    const params: Record<string, string> = {};
    let file: Buffer | undefined;
    for await (const part of request.parts()) {
      if (part.type === 'file') file = await part.toBuffer();
      else params[part.fieldname] = String(part.value);
    }
    return { params, file };
  };

  server.post('/v1_1/:cloud/image/:action', async (request, reply) => {
    const { cloud, action } = request.params as { cloud: string; action: string };
    const { params, file } = await readForm(request);
    const validSignature = verify(params);
    requests.push({ action, params, validSignature });
    if (cloud !== account.cloudName || !validSignature) {
      return reply.status(401).send({ error: { message: 'Invalid Signature' } });
    }
    if (action === 'upload') {
      if (state.failUploads) return reply.status(500).send({ error: { message: 'General Error' } });
      if (!file) return reply.status(400).send({ error: { message: 'Missing required parameter - file' } });
      const folder = params.folder ?? '';
      const publicId = `${folder ? `${folder}/` : ''}${randomBytes(8).toString('hex')}`;
      assets.set(publicId, { publicId, folder, bytes: file });
      return {
        public_id: publicId,
        version: 1,
        format: 'webp',
        resource_type: 'image',
        bytes: file.length,
        secure_url: `https://res.cloudinary.com/${account.cloudName}/image/upload/v1/${publicId}.webp`,
      };
    }
    if (action === 'destroy') {
      const existed = assets.delete(params.public_id ?? '');
      return { result: existed ? 'ok' : 'not found' };
    }
    return reply.status(404).send({ error: { message: 'Unknown action' } });
  });

  await server.listen({ port: 0, host: '127.0.0.1' });
  const { port } = server.server.address() as { port: number };
  after(() => server.close());
  return {
    env: {
      CLOUDINARY_URL: `cloudinary://${account.apiKey}:${account.apiSecret}@${account.cloudName}`,
      CLOUDINARY_UPLOAD_PREFIX: `https://127.0.0.1:${port}`,
    },
    account,
    assets,
    requests,
    state,
    close: () => server.close(),
  };
}
