import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './harness.ts';

export interface DarajaProcess {
  /** The fake itself, plain http (for an in-process app in NODE_ENV=test, which allows it). */
  plainUrl: string;
  /** What the server process needs to send M-Pesa through the fake (over the TLS front). */
  serverEnv: Record<string, string>;
  /** The M-Pesa settings alone, for an in-process app talking to `plainUrl`. */
  mpesaEnv: Record<string, string>;
  callbackToken: string;
  stop(): Promise<void>;
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

/**
 * The loopback Daraja of the test suite, run as its own process (`node test/helpers/daraja.ts`)
 * so the bench depends on its command line, not on its code, with a TLS front before it.
 */
export async function startDaraja(): Promise<DarajaProcess> {
  const credentials = {
    MPESA_CONSUMER_KEY: `bench-key-${randomBytes(6).toString('hex')}`,
    MPESA_CONSUMER_SECRET: randomBytes(16).toString('hex'),
    MPESA_BUSINESS_SHORTCODE: '174379',
    MPESA_PASSKEY: randomBytes(16).toString('hex'),
  };
  const fake = spawn(process.execPath, ['test/helpers/daraja.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      FAKE_DARAJA_PORT: '0',
      // The bench sends every callback itself (or none, for payment creation); the fake's own would
      // arrive mid-run. Its setting has no "off", so: the longest delay a Node timer takes.
      FAKE_DARAJA_CALLBACK_MS: String(2 ** 31 - 1),
      ...credentials,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const plainUrl = await new Promise<string>((resolve, reject) => {
    let output = '';
    fake.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (url) resolve(url);
    });
    fake.once('exit', (code) => reject(new Error(`the Daraja fake exited with ${code}: ${output}`)));
  });
  fake.stdout.resume();

  const certificates = mkdtempSync(join(tmpdir(), 'spacer-bench-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(certificates, 'key.pem'),
      '-out',
      join(certificates, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const front = fork(new URL('./tls-front.ts', import.meta.url), [certificates, new URL(plainUrl).port], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const frontPort = await new Promise<number>((resolve, reject) => {
    front.once('message', (port) => resolve(Number(port)));
    front.once('exit', (code) => reject(new Error(`the TLS front exited with ${code}`)));
  });

  const callbackToken = randomBytes(24).toString('base64url');
  const mpesaEnv = { ...credentials, MPESA_CALLBACK_TOKEN: callbackToken };
  return {
    plainUrl,
    callbackToken,
    mpesaEnv: { ...mpesaEnv, MPESA_BASE_URL: plainUrl },
    serverEnv: { ...mpesaEnv, MPESA_BASE_URL: `https://127.0.0.1:${frontPort}`, NODE_EXTRA_CA_CERTS: join(certificates, 'cert.pem') },
    stop: async () => {
      front.kill('SIGTERM');
      fake.kill('SIGTERM');
      await Promise.all([exited(front), exited(fake)]);
      rmSync(certificates, { recursive: true, force: true });
    },
  };
}
