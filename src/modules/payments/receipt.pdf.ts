import type PDFKitModule from 'pdfkit';
import { createWorkerPool } from '../../infra/worker-pool.ts';
import type { PaymentMethod } from '../../db/schema/index.ts';
import { formatHours, formatInstant, formatMoney, formatPeriod, paymentMethodLabel } from './payments.rules.ts';

/**
 * The receipt as the contract's JSON gives it (`GET /api/payments/:id/receipt`), plus the space's
 * time zone, in which the period is shown.
 */
export interface ReceiptData {
  receipt_number: string;
  issued_at: string;
  payment_id: number;
  booking_id: number;
  payer: { name: string; email: string };
  space: { id: number; name: string; address: string; city: string };
  start_time: string;
  end_time: string;
  hours: number;
  rate: number;
  amount: number;
  currency: string;
  payment_method: PaymentMethod;
  transaction_id: string | null;
  /** IANA zone of the space, e.g. `Africa/Nairobi`. */
  timezone: string;
}

const PAGE = { width: 595.28, height: 841.89 };
const MARGIN = 56;
const LEFT = MARGIN;
const RIGHT = PAGE.width - MARGIN;
const WIDTH = RIGHT - LEFT;

const INK = '#1f2933';
const MUTED = '#6b7480';
const RULE = '#d9dde2';
const BAND = '#f2f4f6';
const ACCENT = '#0f766e';

const REGULAR = 'Helvetica';
const BOLD = 'Helvetica-Bold';

/** Windows-1252 characters above Latin-1's printable range that the standard fonts can show. */
const CP1252_EXTRAS = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');
/** Letters and marks common in names and addresses that have no decomposition to fall back on. */
const LOOKALIKES: Record<string, string> = {
  ʼ: '’',
  ʻ: '‘',
  '′': '’',
  '‐': '-',
  '‑': '-',
  '‒': '–',
  '−': '-',
  Ł: 'L',
  ł: 'l',
  Đ: 'D',
  đ: 'd',
  ı: 'i',
  Ħ: 'H',
  ħ: 'h',
};

/**
 * The standard PDF fonts know only Windows-1252; pdfkit writes anything else as garbage bytes.
 * Names are user input, so accents are kept where a precomposed Latin-1 form exists, stripped
 * where only the base letter is (`ő` becomes `o`, `ł` `l`), and the rest becomes `?`.
 * A receipt for a name in another script needs an embedded font; that is a deliberate limit here.
 */
export function toWinAnsi(text: string): string {
  let out = '';
  for (const char of text.normalize('NFC')) {
    if (encodable(char)) out += char;
    else if (LOOKALIKES[char] !== undefined) out += LOOKALIKES[char];
    else if (/\s/.test(char)) out += ' ';
    else {
      const base = char.normalize('NFKD').replace(/\p{M}/gu, '');
      out += base !== '' && [...base].every(encodable) ? base : '?';
    }
  }
  return out;
}

function encodable(char: string): boolean {
  const code = char.codePointAt(0)!;
  return (code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff) || CP1252_EXTRAS.has(char);
}

type Doc = PDFKit.PDFDocument;

interface TextStyle {
  font?: string;
  size?: number;
  color?: string;
  align?: 'left' | 'right' | 'center';
  /** Lines at most; longer text ends in an ellipsis. */
  lines?: number;
}

/** Writes text in a box and returns the y below it; every position is explicit, nothing flows. */
function put(doc: Doc, text: string, x: number, y: number, width: number, style: TextStyle = {}): number {
  const size = style.size ?? 10;
  doc
    .font(style.font ?? REGULAR)
    .fontSize(size)
    .fillColor(style.color ?? INK);
  const options = { width, align: style.align ?? 'left', lineGap: 2, ...(style.lines ? { height: style.lines * (size + 2) * 1.16, ellipsis: true } : {}) };
  const safe = toWinAnsi(text);
  const height = Math.min(doc.heightOfString(safe, options), options.height ?? Infinity);
  doc.text(safe, x, y, options);
  return y + height;
}

const label = (doc: Doc, text: string, x: number, y: number, width: number, align: 'left' | 'right' = 'left') =>
  put(doc, text.toUpperCase(), x, y, width, { font: BOLD, size: 7.5, color: MUTED, align });

const rule = (doc: Doc, y: number, color = RULE) => doc.moveTo(LEFT, y).lineTo(RIGHT, y).lineWidth(0.75).strokeColor(color).stroke();

function header(doc: Doc, receipt: ReceiptData): number {
  doc.rect(0, 0, PAGE.width, 6).fill(ACCENT);
  put(doc, 'Spacer', LEFT, MARGIN, WIDTH / 2, { font: BOLD, size: 24, color: ACCENT });
  put(doc, 'Spaces by the hour', LEFT, MARGIN + 30, WIDTH / 2, { size: 9, color: MUTED });
  put(doc, 'Receipt', LEFT + WIDTH / 2, MARGIN, WIDTH / 2, { font: BOLD, size: 24, align: 'right' });
  put(doc, 'Payment received', LEFT + WIDTH / 2, MARGIN + 30, WIDTH / 2, { font: BOLD, size: 9, color: ACCENT, align: 'right' });

  const top = MARGIN + 72;
  const facts: Array<[string, string]> = [
    ['Receipt number', receipt.receipt_number],
    ['Issued', formatInstant(receipt.issued_at, receipt.timezone)],
    ['Payment', `#${receipt.payment_id}`],
    ['Booking', `#${receipt.booking_id}`],
  ];
  const widths = [0.28, 0.36, 0.18, 0.18].map((share) => share * WIDTH);
  let x = LEFT;
  let bottom = top;
  for (const [index, [name, value]] of facts.entries()) {
    const last = index === facts.length - 1;
    // A gutter between columns; the last one ends flush with the rules and the title.
    const width = widths[index]! - (last ? 0 : 12);
    const align = last ? 'right' : 'left';
    label(doc, name, x, top, width, align);
    bottom = Math.max(bottom, put(doc, value, x, top + 13, width, { size: 10, align, lines: 2 }));
    x += widths[index]!;
  }
  return bottom + 18;
}

function parties(doc: Doc, receipt: ReceiptData, top: number): number {
  rule(doc, top);
  const y = top + 18;
  const column = (WIDTH - 32) / 2;
  label(doc, 'Billed to', LEFT, y, column);
  let left = put(doc, receipt.payer.name, LEFT, y + 14, column, { font: BOLD, size: 11, lines: 2 });
  left = put(doc, receipt.payer.email, LEFT, left + 2, column, { color: MUTED, lines: 2 });

  const x = LEFT + column + 32;
  label(doc, 'Space', x, y, column);
  let right = put(doc, receipt.space.name, x, y + 14, column, { font: BOLD, size: 11, lines: 2 });
  right = put(doc, receipt.space.address, x, right + 2, column, { color: MUTED, lines: 3 });
  right = put(doc, receipt.space.city, x, right, column, { color: MUTED, lines: 1 });

  const period = Math.max(left, right) + 20;
  label(doc, 'Booking period', LEFT, period, WIDTH);
  return put(doc, formatPeriod(receipt.start_time, receipt.end_time, receipt.timezone), LEFT, period + 14, WIDTH, { size: 11, lines: 2 }) + 26;
}

function charges(doc: Doc, receipt: ReceiptData, top: number): number {
  // The money columns fit `KES 99,999,999.99` side by side; the description wraps instead.
  const columns = { description: WIDTH * 0.44, hours: WIDTH * 0.1, rate: WIDTH * 0.23, amount: WIDTH * 0.23 };
  const xHours = LEFT + columns.description;
  const xRate = xHours + columns.hours;
  const xAmount = xRate + columns.rate;
  const pad = 10;

  doc.rect(LEFT, top, WIDTH, 24).fill(BAND);
  label(doc, 'Description', LEFT + pad, top + 8.5, columns.description - pad);
  label(doc, 'Hours', xHours, top + 8.5, columns.hours, 'right');
  label(doc, 'Rate / hour', xRate, top + 8.5, columns.rate, 'right');
  label(doc, 'Amount', xAmount, top + 8.5, columns.amount - pad, 'right');

  const row = top + 36;
  const rate = formatMoney(receipt.rate, receipt.currency);
  let below = put(doc, `Booking #${receipt.booking_id}: ${receipt.space.name}`, LEFT + pad, row, columns.description - 2 * pad, { font: BOLD, lines: 2 });
  below = put(doc, `${formatHours(receipt.hours)} h × ${rate} per hour`, LEFT + pad, below + 2, columns.description - 2 * pad, { size: 9, color: MUTED });
  put(doc, formatHours(receipt.hours), xHours, row, columns.hours, { align: 'right' });
  put(doc, rate, xRate, row, columns.rate - 4, { align: 'right' });
  put(doc, formatMoney(receipt.amount, receipt.currency), xAmount, row, columns.amount - pad, { align: 'right' });

  const totalTop = below + 14;
  rule(doc, totalTop);
  const totalX = LEFT + WIDTH / 2;
  put(doc, 'Total paid', totalX, totalTop + 14, WIDTH / 4, { font: BOLD, size: 12 });
  return (
    put(doc, formatMoney(receipt.amount, receipt.currency), totalX + WIDTH / 4 - 40, totalTop + 12, WIDTH / 4 + 40 - pad, {
      font: BOLD,
      size: 14,
      align: 'right',
    }) + 30
  );
}

function payment(doc: Doc, receipt: ReceiptData, top: number): number {
  rule(doc, top);
  const y = top + 18;
  const facts: Array<[string, string]> = [
    ['Payment method', paymentMethodLabel(receipt.payment_method)],
    ['Transaction ID', receipt.transaction_id ?? '—'],
    ['Status', 'Paid'],
  ];
  // Provider ids run to 30 characters (Stripe's `pi_…`); their column is the wide one.
  const widths = [0.25, 0.55, 0.2].map((share) => share * WIDTH);
  let x = LEFT;
  let bottom = y;
  for (const [index, [name, value]] of facts.entries()) {
    const last = index === facts.length - 1;
    const width = widths[index]! - (last ? 0 : 12);
    const align = last ? 'right' : 'left';
    label(doc, name, x, y, width, align);
    bottom = Math.max(bottom, put(doc, value, x, y + 14, width, { size: 11, align, lines: 2, ...(last ? { font: BOLD, color: ACCENT } : {}) }));
    x += widths[index]!;
  }
  return bottom;
}

function footer(doc: Doc) {
  const y = PAGE.height - MARGIN - 34;
  rule(doc, y);
  put(doc, 'Thank you for booking with Spacer. This receipt confirms payment in full for the booking above; keep it for your records.', LEFT, y + 10, WIDTH, {
    size: 8,
    color: MUTED,
    lines: 2,
  });
  put(doc, 'Times are shown in the time zone of the space.', LEFT, y + 22, WIDTH, { size: 8, color: MUTED, lines: 1 });
}

/**
 * pdfkit is needed where receipts are drawn, which is the renderer's worker thread: the main
 * thread imports this file only for `createReceiptRenderer` and should not carry pdfkit
 * (~6 MB of heap) for it.
 */
let pdfkit: Promise<typeof PDFKitModule> | undefined;
const loadPdfkit = () => (pdfkit ??= import('pdfkit').then((module) => module.default));

/**
 * One A4 page with the standard Helvetica (nothing embedded, nothing fetched), text left as
 * text so it can be searched and read aloud. The metadata dates come from `issued_at` and
 * pdfkit derives the file ID from the metadata, so the same receipt gives the same bytes.
 */
export async function renderReceiptPdf(receipt: ReceiptData): Promise<Buffer> {
  const issuedAt = new Date(receipt.issued_at);
  if (Number.isNaN(issuedAt.getTime())) throw new RangeError(`renderReceiptPdf: issued_at ${receipt.issued_at} is not a time`);
  const PDFDocument = await loadPdfkit();
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({
      size: 'A4',
      margin: MARGIN,
      lang: 'en-GB',
      displayTitle: true,
      info: {
        Title: toWinAnsi(`Spacer receipt ${receipt.receipt_number}`),
        Author: 'Spacer',
        Subject: toWinAnsi(`Payment ${receipt.payment_id} for booking ${receipt.booking_id}`),
        Creator: 'Spacer',
        Producer: 'Spacer',
        CreationDate: issuedAt,
        ModDate: issuedAt,
      },
    });
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    try {
      let y = header(doc, receipt);
      y = parties(doc, receipt, y);
      y = charges(doc, receipt, y);
      payment(doc, receipt, y);
      footer(doc);
      doc.end();
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

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
  const pool = createWorkerPool<ReceiptData, Uint8Array>(new URL('./receipt.worker.ts', import.meta.url), {
    threads: options.threads ?? 1,
    name: 'receipt renderer',
  });
  return {
    async render(receipt) {
      const bytes = await pool.run(receipt);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    close: () => pool.close(),
  };
}
