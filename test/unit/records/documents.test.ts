/** Invoice and credit note documents: the text a reader sees in the PDF and in the HTML. */
import { writeFileSync } from 'node:fs';
import { creditNoteHtml, creditNotePdf, invoiceHtml, invoicePdf, type Seller } from '../../../src/records/documents';
import type { InvoiceDocument } from '../../../src/records';

const seller: Seller = { name: 'Acme Streaming Sdn Bhd', address: ['12 Jalan Ampang', '50450 Kuala Lumpur'] };
const at = (s: string) => new Date(s);

const doc: InvoiceDocument = {
  invoice: {
    invoice_id: 'inv_test',
    merchant_id: 'acme',
    number: 42,
    cycle_id: 'cycle:sub-1:3',
    subscription_id: 'sub-1',
    customer_id: 'customer-7',
    purchase_id: 'pur-123',
    status: 'paid',
    currency: 'NGN',
    period_start: at('2027-03-01T00:00:00Z'),
    period_end: at('2027-04-01T00:00:00Z'),
    subtotal_minor: 750_000,
    discount_minor: 0,
    tax_minor: 0,
    total_minor: 750_000,
    paid_minor: 750_000,
    issued_at: at('2027-03-01T00:00:05Z'),
    paid_at: at('2027-03-01T00:00:09Z'),
    closed_at: at('2027-03-01T00:00:09Z'),
    observed_at: at('2027-03-01T00:00:09Z'),
  },
  lines: [
    {
      invoice_id: 'inv_test',
      position: 0,
      description: 'Pro plan',
      quantity: 1,
      unit_price_minor: 500_000,
      discount_minor: 0,
      tax_percent: '0',
      tax_minor: 0,
      amount_minor: 500_000,
    },
    {
      invoice_id: 'inv_test',
      position: 1,
      description: 'Extra seats',
      quantity: 5,
      unit_price_minor: 50_000,
      discount_minor: 0,
      tax_percent: '0',
      tax_minor: 0,
      amount_minor: 250_000,
    },
  ],
  payments: [
    {
      payment_key: 'charge:pur-123',
      kind: 'charge',
      merchant_id: 'acme',
      subscription_id: 'sub-1',
      cycle_id: 'cycle:sub-1:3',
      invoice_id: 'inv_test',
      purchase_id: 'pur-123',
      gateway_payment_id: null,
      amount_minor: 750_000,
      currency: 'NGN',
      occurred_at: at('2027-03-01T00:00:09Z'),
      written_at: at('2027-03-01T00:00:10Z'),
    },
  ],
  creditNotes: [
    {
      credit_note_id: 'cn_test',
      merchant_id: 'acme',
      number: 7,
      invoice_id: 'inv_test',
      payment_key: 'refund:pay-9',
      kind: 'refund',
      amount_minor: 250_000,
      currency: 'NGN',
      issued_at: at('2027-03-05T10:00:00Z'),
    },
  ],
};

/**
 * The text a PDF viewer shows, from an uncompressed pdfkit PDF: every text-showing operator (`[<hex> kern <hex>] TJ`)
 * in page order, its hex strings decoded as WinAnsi (the standard fonts' encoding); one space between operators.
 */
function pdfText(pdf: Buffer): string {
  const body = pdf.toString('latin1');
  const shown = [...body.matchAll(/\[((?:<[0-9a-fA-F]*>|\s|-?\d+(?:\.\d+)?)*)\]\s*TJ/g)].map((m) =>
    [...m[1]!.matchAll(/<([0-9a-fA-F]*)>/g)].map((h) => Buffer.from(h[1]!, 'hex').toString('latin1')).join(''),
  );
  return shown.join(' ').replace(/\s+/g, ' ');
}

describe('documents', () => {
  it('an invoice PDF shows the seller, customer, lines, totals and the payment', async () => {
    const pdf = await invoicePdf(doc, seller, { compress: false });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    if (process.env.WRITE_DOCUMENT_SAMPLES) writeFileSync(`${process.env.WRITE_DOCUMENT_SAMPLES}/invoice.pdf`, pdf);
    const text = pdfText(pdf);
    for (const expected of [
      'Invoice INV-000042',
      'Acme Streaming Sdn Bhd',
      '12 Jalan Ampang',
      '50450 Kuala Lumpur',
      'customer-7',
      '2027-03-01 to 2027-04-01',
      'Pro plan',
      'Extra seats',
      '5000.00 NGN',
      '2500.00 NGN',
      '7500.00 NGN',
      'Paid 7500.00 NGN on 2027-03-01 (card charge, Purchase pur-123)',
      'Credited 2500.00 NGN on 2027-03-05 by credit note CN-000007 (refund)',
    ]) {
      expect(text).toContain(expected);
    }
  });

  it('a credit note PDF names the invoice it credits and the amount', async () => {
    const pdf = await creditNotePdf(doc.creditNotes[0]!, doc, seller, { compress: false });
    if (process.env.WRITE_DOCUMENT_SAMPLES) writeFileSync(`${process.env.WRITE_DOCUMENT_SAMPLES}/credit-note.pdf`, pdf);
    const text = pdfText(pdf);
    for (const expected of [
      'Credit note CN-000007',
      'Acme Streaming Sdn Bhd',
      'Refund',
      'INV-000042 (2027-03-01 to 2027-04-01)',
      'customer-7',
      '2500.00 NGN',
    ]) {
      expect(text).toContain(expected);
    }
  });

  it('the HTML carries the same content, escaped', () => {
    const html = invoiceHtml(
      { ...doc, lines: [{ ...doc.lines[0]!, description: '<script>alert(1)</script>' }] },
      { ...seller, name: 'A & B' },
    );
    expect(html).toContain('<h1>Invoice INV-000042</h1>');
    expect(html).toContain('A &amp; B');
    expect(html).toContain('&lt;script&gt;');
    expect(html).not.toContain('<script>');
    expect(creditNoteHtml(doc.creditNotes[0]!, doc, seller)).toContain('Credit note CN-000007');
  });
});
