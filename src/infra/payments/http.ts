import type * as Http from 'node:http';
import type { IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createRequire } from 'node:module';

// Not an ES import: building node:http's module namespace reads every export, and its lazy
// WebSocket, MessageEvent and CloseEvent getters then load undici (measured: +2.5 MB of heap and
// +14 MB of RSS in a process that never uses them).
const { Agent: HttpAgent, request: httpRequest } = createRequire(import.meta.url)('node:http') as typeof Http;

/**
 * Sockets to one payment provider: kept alive between calls, so a payment does not pay a TCP and
 * TLS handshake per call, and bounded, so a burst of payments queues for a socket instead of
 * opening hundreds at once. fetch's global agent keeps sockets alive too, but without a bound.
 */
export const PROVIDER_SOCKETS = 32;

/** An agent for the provider's scheme (http only for loopback fakes in tests), keeping up to PROVIDER_SOCKETS sockets. */
export function providerAgent(url: URL): Http.Agent | HttpsAgent {
  // An idle socket is dropped after `timeout`, or a second before the server's Keep-Alive hint if
  // that is sooner (Node heeds the hint only when a timeout is set), so the server rarely closes one first.
  const options = { keepAlive: true, maxSockets: PROVIDER_SOCKETS, maxFreeSockets: PROVIDER_SOCKETS, scheduling: 'lifo' as const, timeout: 4_000 };
  return url.protocol === 'http:' ? new HttpAgent(options) : new HttpsAgent(options);
}

/** A provider answer longer than this is no answer we can use. */
const MAX_BODY_BYTES = 1024 * 1024;

export class ProviderTimeoutError extends Error {
  override name = 'TimeoutError';
}

type RequestInit = {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /**
   * Whether sending the request twice is harmless (a token or a status query). Only such a request
   * is tried again on a stale socket: a reset before any answer usually means the provider never
   * read it, but not always, and a payment prompt or a reversal sent twice could move money twice.
   */
  idempotent: boolean;
};

/**
 * One request through the agent, answered with its status and body text; `timeoutMs` bounds each
 * attempt. A kept-alive socket the server closed while idle fails at once (a reset before any
 * answer); an idempotent request, and only that, is tried again once on another socket.
 */
export async function providerRequest(agent: Http.Agent | HttpsAgent, url: URL, init: RequestInit): Promise<{ status: number; text: string }> {
  try {
    return await attempt(agent, url, init);
  } catch (error) {
    if (!(error instanceof StaleSocketError) || !init.idempotent) throw error;
    return attempt(agent, url, init);
  }
}

class StaleSocketError extends Error {}

function attempt(agent: Http.Agent | HttpsAgent, url: URL, init: RequestInit): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const headers = init.body === undefined ? init.headers : { ...init.headers, 'Content-Length': String(Buffer.byteLength(init.body)) };
    let settled = false;
    const finish = (error: Error | undefined, answer?: { status: number; text: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(answer!);
    };
    const request = send(url, { method: init.method, headers, agent }, (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) request.destroy(new Error('the provider answer is too large'));
        else chunks.push(chunk);
      });
      response.on('end', () => finish(undefined, { status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', (error) => finish(error));
    });
    const timer = setTimeout(() => {
      const error = new ProviderTimeoutError(`no answer within ${init.timeoutMs} ms`);
      finish(error);
      request.destroy(error);
    }, init.timeoutMs);
    let answered = false;
    request.on('response', () => {
      answered = true;
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      const stale = request.reusedSocket && !answered && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
      finish(stale ? new StaleSocketError('the kept-alive socket was closed by the provider', { cause: error }) : error);
    });
    request.end(init.body);
  });
}
