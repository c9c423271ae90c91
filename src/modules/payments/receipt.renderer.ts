import type { ReceiptData } from './receipt.pdf.ts';
import { createWorkerPool } from './worker-pool.ts';

export interface ReceiptRenderer {
  render(receipt: ReceiptData): Promise<Buffer>;
  close(): Promise<void>;
}

/**
 * Receipts rendered off the event loop. One render is a few milliseconds of pure CPU (tens on the
 * first, while the fonts' metrics load); on the main thread a burst of them would hold up every
 * other request, in a worker it only shares the cores. `threads` defaults to 1 so receipts can
 * never take more than one core from request handling.
 */
export function createReceiptRenderer(options: { threads?: number } = {}): ReceiptRenderer {
  const pool = createWorkerPool<ReceiptData, Uint8Array>(new URL('./receipt.worker.ts', import.meta.url), { threads: options.threads ?? 1, name: 'receipt renderer' });
  return {
    async render(receipt) {
      const bytes = await pool.run(receipt);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    close: () => pool.close(),
  };
}
