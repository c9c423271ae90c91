import { parentPort } from 'node:worker_threads';
import { renderReceiptPdf, type ReceiptData } from './receipt.pdf.ts';
import type { PoolReply, PoolRequest } from '../../infra/worker-pool.ts';

/** Runs in a worker thread of `createReceiptRenderer`: one receipt in, its PDF bytes out. */

if (!parentPort) throw new Error('receipt.worker.ts runs only as a worker thread');
const port = parentPort;

async function render({ id, input }: PoolRequest<ReceiptData>) {
  try {
    const pdf = await renderReceiptPdf(input);
    // A small Buffer is a view on Node's shared 8 KB pool; posting it would copy (or, transferred,
    // detach) the whole pool. A copy of its own is transferred instead, without a second copy.
    const bytes = new Uint8Array(pdf.length);
    bytes.set(pdf);
    port.postMessage({ id, output: bytes } satisfies PoolReply<Uint8Array>, [bytes.buffer]);
  } catch (error) {
    port.postMessage({ id, error: error instanceof Error ? error.message : String(error) } satisfies PoolReply<Uint8Array>);
  }
}

// render() answers every request itself, failures included, so its promise never rejects.
port.on('message', (request: PoolRequest<ReceiptData>) => void render(request));
