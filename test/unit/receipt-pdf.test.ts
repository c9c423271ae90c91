import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { extractText, getDocumentProxy, getMeta } from 'unpdf';
import { receiptFilename, receiptMail } from '../../src/modules/payments/payments.mails.ts';
import { createWorkerPool } from '../../src/infra/worker-pool.ts';
import { createReceiptRenderer, renderReceiptPdf, toWinAnsi, type ReceiptData } from '../../src/modules/payments/receipt.pdf.ts';

const sample: ReceiptData = {
  receipt_number: 'RCP-2026-000042',
  issued_at: '2026-12-01T09:05:00.000Z',
  payment_id: 318,
  booking_id: 1207,
  payer: { name: 'Amina Wanjiru', email: 'amina.wanjiru@example.co.ke' },
  space: { id: 12, name: 'Westlands Creative Loft', address: 'Mpaka Road, 3rd floor', city: 'Nairobi' },
  start_time: '2026-12-01T06:00:00.000Z',
  end_time: '2026-12-01T09:00:00.000Z',
  hours: 3,
  rate: 1500,
  amount: 4500,
  currency: 'KES',
  payment_method: 'mpesa',
  transaction_id: 'QJK3ABC123',
  timezone: 'Africa/Nairobi',
};

/** The n-th of a family of receipts that differ in every field the PDF shows. */
const nth = (n: number): ReceiptData => ({
  ...sample,
  receipt_number: `RCP-2026-${String(n).padStart(6, '0')}`,
  payment_id: 1000 + n,
  payer: { name: `Guest Number${n}`, email: `guest${n}@example.com` },
  space: { ...sample.space, name: `Room ${n}` },
  hours: 2,
  rate: 1000 + n,
  amount: 2 * (1000 + n),
  transaction_id: `TX${n}ABC`,
});

/** The PDF's text with runs of whitespace made single, as a reader would copy it. */
async function textOf(pdf: Buffer): Promise<string> {
  assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
  const document = await getDocumentProxy(new Uint8Array(pdf));
  assert.equal(document.numPages, 1, 'a receipt is one page');
  const { text } = await extractText(document, { mergePages: true });
  return text.replace(/\s+/g, ' ');
}

function assertShows(text: string, receipt: ReceiptData, money: { amount: string; rate: string }, period: string) {
  for (const expected of [
    'Spacer',
    'Receipt',
    receipt.receipt_number,
    money.amount,
    `× ${money.rate}`,
    receipt.payer.name,
    receipt.payer.email,
    receipt.space.name,
    receipt.space.address,
    receipt.space.city,
    receipt.transaction_id!,
    period,
  ]) {
    assert.ok(text.includes(expected), `the receipt shows "${expected}" in: ${text}`);
  }
}

describe('renderReceiptPdf', () => {
  it('writes a one-page PDF whose text holds every fact of the receipt', async () => {
    const text = await textOf(await renderReceiptPdf(sample));
    assertShows(text, sample, { amount: 'KES 4,500.00', rate: 'KES 1,500.00' }, 'Tue 1 Dec 2026, 09:00–12:00 (Africa/Nairobi, UTC+03:00)');
    assert.ok(text.includes('M-Pesa'));
    assert.ok(text.includes('Tue 1 Dec 2026, 12:05 (UTC+03:00)'), 'the issue date, in local time');
    assert.ok(text.includes('#1207') && text.includes('#318'), 'booking and payment ids');
  });

  it("shows the period in the space's own zone and the method's name", async () => {
    const text = await textOf(
      await renderReceiptPdf({
        ...sample,
        timezone: 'America/New_York',
        start_time: '2026-12-01T14:00:00.000Z',
        end_time: '2026-12-01T16:30:00.000Z',
        hours: 2.5,
        amount: 3750,
        payment_method: 'card',
      }),
    );
    assert.ok(text.includes('Tue 1 Dec 2026, 09:00–11:30 (America/New_York, UTC-05:00)'), text);
    assert.ok(text.includes('2.5 h × KES 1,500.00') && text.includes('KES 3,750.00') && text.includes('Card'), text);
  });

  it('formats large amounts with thousands separators', async () => {
    const text = await textOf(await renderReceiptPdf({ ...sample, hours: 10, rate: 123_456.78, amount: 1_234_567.8 }));
    assert.ok(text.includes('KES 1,234,567.80') && text.includes('KES 123,456.78'), text);
  });

  it('renders the same receipt to the same bytes, with its metadata dated by issued_at', async () => {
    const first = await renderReceiptPdf(sample);
    const second = await renderReceiptPdf(structuredClone(sample));
    assert.ok(first.equals(second), 'byte-identical');
    const later = await renderReceiptPdf({ ...sample, issued_at: '2026-12-02T09:05:00.000Z' });
    assert.ok(!first.equals(later));
    const { info } = await getMeta(new Uint8Array(first));
    assert.match(String(info.CreationDate), /^D:20261201090500Z/);
    assert.equal(info.Title, 'Spacer receipt RCP-2026-000042');
  });

  it('keeps to one page and stays readable with long names and a cash payment without transaction id', async () => {
    const long = 'Grand Conference Hall at the Kenyatta International Convention Centre, West Wing '.repeat(6);
    const text = await textOf(
      await renderReceiptPdf({
        ...sample,
        payer: { name: long, email: `${'x'.repeat(200)}@example.com` },
        space: { ...sample.space, name: long, address: long },
        payment_method: 'cash',
        transaction_id: null,
      }),
    );
    assert.ok(text.includes('Cash') && text.includes('RCP-2026-000042') && text.includes('KES 4,500.00'), text);
  });

  it('writes letters the standard fonts lack as their nearest Latin form, never as garbage', async () => {
    assert.equal(toWinAnsi('Łukasz Ngʼangʼa Øyvind Gödel Nguyễn 张'), 'Lukasz Ng’ang’a Øyvind Gödel Nguyen ?');
    const text = await textOf(await renderReceiptPdf({ ...sample, payer: { name: 'Łukasz Øyvind Gödel', email: sample.payer.email } }));
    assert.ok(text.includes('Lukasz Øyvind Gödel'), text);
  });

  it('refuses a receipt whose times cannot be read', async () => {
    await assert.rejects(renderReceiptPdf({ ...sample, issued_at: 'yesterday' }), RangeError);
    await assert.rejects(renderReceiptPdf({ ...sample, timezone: 'Mars/Olympus' }), RangeError);
  });
});

describe('createReceiptRenderer', () => {
  it('renders 20 receipts at once on a pool, each with its own content', async (t) => {
    const renderer = createReceiptRenderer({ threads: 2 });
    t.after(() => renderer.close());
    const pdfs = await Promise.all(Array.from({ length: 20 }, (_, index) => renderer.render(nth(index + 1))));
    for (const [index, pdf] of pdfs.entries()) {
      const n = index + 1;
      const receipt = nth(n);
      assertShows(
        await textOf(pdf),
        receipt,
        { amount: `KES ${(2 * (1000 + n)).toLocaleString('en-US')}.00`, rate: `KES ${(1000 + n).toLocaleString('en-US')}.00` },
        'Tue 1 Dec 2026, 09:00–12:00 (Africa/Nairobi, UTC+03:00)',
      );
    }
    assert.ok(pdfs[0]!.equals(await renderReceiptPdf(nth(1))), 'the same bytes as on the main thread');
  });

  it('rejects a render that fails and goes on with the next', async (t) => {
    const renderer = createReceiptRenderer();
    t.after(() => renderer.close());
    await assert.rejects(renderer.render({ ...sample, timezone: 'Mars/Olympus' }), /receipt renderer: .*Mars\/Olympus/);
    assert.ok((await textOf(await renderer.render(sample))).includes('RCP-2026-000042'));
  });

  it('rejects everything once closed', async () => {
    const renderer = createReceiptRenderer();
    const running = assert.rejects(renderer.render(sample), /closed/);
    const queued = assert.rejects(renderer.render(nth(2)), /closed/);
    await renderer.close();
    await Promise.all([running, queued]);
    await assert.rejects(renderer.render(sample), /closed/);
  });

  it('refuses a pool size that is not a positive integer', () => {
    for (const threads of [0, -1, 1.5]) assert.throws(() => createReceiptRenderer({ threads }), RangeError);
  });

  it('never keeps the process alive, yet lets a pending render finish', async () => {
    const script = [
      `import { createReceiptRenderer } from ${JSON.stringify(new URL('../../src/modules/payments/receipt.pdf.ts', import.meta.url).href)};`,
      'const renderer = createReceiptRenderer({ threads: 2 });',
      `const pdf = await renderer.render(${JSON.stringify(sample)});`,
      "console.log(pdf.subarray(0, 5).toString('latin1'));",
    ].join('\n');
    // No close(): the process must still end by itself once the render is done.
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { timeout: 60_000 });
    assert.equal(stdout.trim(), '%PDF-');
  });
});

describe('a worker pool whose worker dies', () => {
  const crashing = new URL('../fixtures/workers/crashing-receipt.worker.ts', import.meta.url);

  it('rejects only the job the dead worker held, and a fresh worker takes the rest', async (t) => {
    const pool = createWorkerPool<ReceiptData, Uint8Array>(crashing, { threads: 1, name: 'receipt renderer' });
    t.after(() => pool.close());
    const jobs = [
      pool.run(nth(1)),
      pool.run({ ...sample, receipt_number: 'CRASH' }),
      pool.run(nth(3)),
      pool.run({ ...sample, receipt_number: 'THROW' }),
      pool.run(nth(5)),
    ];
    const [first, crashed, third, thrown, fifth] = await Promise.allSettled(jobs);
    assert.equal(first!.status, 'fulfilled');
    assert.equal(crashed!.status, 'rejected');
    assert.match(String((crashed as PromiseRejectedResult).reason), /died \(exit code 3\)/);
    assert.equal(thrown!.status, 'rejected');
    assert.match(String((thrown as PromiseRejectedResult).reason.cause), /boom in the worker/);
    for (const [result, n] of [
      [third, 3],
      [fifth, 5],
    ] as const) {
      assert.equal(result!.status, 'fulfilled', `job ${n} ran on a replacement worker`);
      assert.ok((await textOf(Buffer.from((result as PromiseFulfilledResult<Uint8Array>).value))).includes(nth(n).receipt_number));
    }
  });
});

describe('receiptMail', () => {
  it('greets the payer, sums up the payment and attaches the PDF named after the receipt', () => {
    const mail = receiptMail({ email: 'amina.wanjiru@example.co.ke', firstName: 'Amina' }, sample, { kind: 'receipt', ref: '42' });
    assert.equal(mail.to, 'amina.wanjiru@example.co.ke');
    assert.equal(mail.subject, 'Your Spacer receipt RCP-2026-000042');
    assert.match(mail.text, /^Hello Amina,\n\n/);
    assert.match(mail.text, /KES 4,500\.00 for Westlands Creative Loft, Tue 1 Dec 2026, 09:00–12:00 \(Africa\/Nairobi, UTC\+03:00\)/);
    assert.match(mail.text, /Paid by M-Pesa, transaction QJK3ABC123\./);
    assert.match(mail.text, /\n\n— Spacer$/);
    assert.deepEqual(mail.attachments, [{ kind: 'receipt', ref: '42', filename: 'RCP-2026-000042.pdf', contentType: 'application/pdf' }]);
  });

  it('leaves out the transaction for a cash payment and keeps the file name safe', () => {
    const mail = receiptMail(
      { email: 'a@example.com', firstName: 'A' },
      { ...sample, payment_method: 'cash', transaction_id: null },
      { kind: 'receipt', ref: '42' },
    );
    assert.match(mail.text, /Paid by Cash\./);
    assert.equal(receiptFilename({ receipt_number: '../RCP-2026-000042' }), 'RCP-2026-000042.pdf');
  });
});
