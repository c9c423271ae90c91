import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { scratchPostgresUrl, usingPostgres } from '../helpers/database.ts';
import { uniqueEmail } from '../helpers/factories.ts';
import { postJson, startServer, type ServerProcess } from '../helpers/server-process.ts';

/** What only a real socket shows: Node's parser errors, clients that hang up, unread uploads. */

/**
 * A server of its own for each test, started inside the test: the helpers' after() cleanups then
 * run when that test ends (at a file's top level, a long start raced the runner in full runs).
 */
async function serve(): Promise<{ server: ServerProcess; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'spacer-hardening-'));
  const server = await startServer({ DATA_DIR: dir, LOG_LEVEL: 'info', ...(usingPostgres() ? { DATABASE_URL: await scratchPostgresUrl() } : {}) });
  // The process first, then its folder: removing files it is still writing fails, and a failing
  // cleanup would leave the process (and the test run) alive.
  after(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return { server, port: Number(new URL(server.url).port) };
}

/** Writes raw bytes and collects what comes back until the server closes or `waitMs` passes. */
function raw(port: number, bytes: string | Buffer, options: { waitMs?: number; then?: (socket: ReturnType<typeof connect>) => void } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const done = () => {
      socket.destroy();
      resolve(received);
    };
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('close', done);
    socket.on('error', done);
    socket.write(bytes, () => options.then?.(socket));
    setTimeout(done, options.waitMs ?? 3000);
  });
}

async function signUp(server: ServerProcess, role: 'owner' | 'client') {
  const email = uniqueEmail(role);
  const registered = await postJson(`${server.url}/api/auth/register`, { email, password: 'Passw0rd!', first_name: 'T', last_name: role, role });
  assert.equal(registered.status, 201);
  return registered.body as { access_token: string; user: { id: number } };
}

describe('errors of the HTTP parser', () => {
  it('answers oversized headers with 431 in the envelope, with X-Request-Id', async () => {
    const { port } = await serve();
    const answer = await raw(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 431 /);
    assert.match(answer, /\r\nx-request-id: [0-9a-f-]{36}\r\n/i);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { code: string; error: string; message: string };
    assert.equal(body.code, 'headers_too_large');
    assert.equal(body.message, body.error);
  });
});

describe('a client that hangs up mid-body', () => {
  it('is logged as that, not as the database being unavailable', async () => {
    const { server, port } = await serve();
    const { access_token } = await signUp(server, 'client');
    const before = server.output().length;
    await raw(
      port,
      `POST /api/bookings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${access_token}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"space_id":`,
      {
        waitMs: 400,
        then: (socket: ReturnType<typeof connect>) => setTimeout(() => socket.destroy(), 100),
      },
    );
    await sleep(500);
    const logs = server.output().slice(before);
    assert.doesNotMatch(logs, /database is unavailable/i);
    assert.doesNotMatch(logs, /"level":50/, 'no error-level line');
    assert.equal((await fetch(`${server.url}/ready`)).status, 200);
  });
});

describe('uploads by someone not allowed to make them', () => {
  it('are refused before the body is read, and the connection closed', async () => {
    const { server, port } = await serve();
    const owner = await signUp(server, 'owner');
    const created = await postJson(
      `${server.url}/api/spaces`,
      { name: 'Loft', description: 'Bright', address: 'Road 1', city: 'Nairobi', price_per_hour: 100, capacity: 4 },
      { authorization: `Bearer ${owner.access_token}` },
    );
    assert.equal(created.status, 201);
    const stranger = await signUp(server, 'client');
    const declared = 90 * 1024 * 1024;
    const head =
      `POST /api/spaces/${created.body.id}/images HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${stranger.access_token}\r\n` +
      `Content-Type: multipart/form-data; boundary=x\r\nContent-Length: ${declared}\r\n\r\n--x\r\nContent-Disposition: form-data; name="images"; filename="a.jpg"\r\n\r\n`;
    // Only the head and a few bytes are sent: the answer must come without the other 90 MB.
    const answer = await raw(port, head + 'x'.repeat(1024), { waitMs: 5000 });
    assert.match(answer, /^HTTP\/1\.1 403 /);
    assert.match(answer, /\r\nconnection: close\r\n/i);
    assert.match(answer, /"code":"forbidden"/);
  });
});
