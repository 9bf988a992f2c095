/**
 * Invoices and credit notes as documents: the JSON view the API answers, and the same content as HTML and as a PDF
 * (pdfkit, its built-in Helvetica: no font files to ship). The seller is the merchant as configured (name, address);
 * the buyer is the subscription's customer. Amounts are formatted from integer minor units by the one money rule.
 */
import PDFDocument from 'pdfkit';
import { money } from '../shared/ui-text';
import type { InvoiceDocument } from './readers';
import type { CreditNoteRow } from './schema';

export interface Seller {
  name: string;
  /** Postal address lines. */
  address: string[];
}

export const invoiceNumberText = (n: number): string => `INV-${String(n).padStart(6, '0')}`;
export const creditNoteNumberText = (n: number): string => `CN-${String(n).padStart(6, '0')}`;

const day = (d: Date | null | undefined): string | undefined => (d ? d.toISOString().slice(0, 10) : undefined);

/** The invoice as the API answers it. */
export function invoiceView(doc: InvoiceDocument) {
  const i = doc.invoice;
  return {
    invoiceId: i.invoice_id,
    number: i.number,
    numberText: invoiceNumberText(i.number),
    merchantId: i.merchant_id,
    subscriptionId: i.subscription_id,
    customerId: i.customer_id,
    cycleId: i.cycle_id,
    purchaseId: i.purchase_id,
    status: i.status,
    currency: i.currency,
    periodStart: i.period_start.toISOString(),
    periodEnd: i.period_end.toISOString(),
    issuedAt: i.issued_at.toISOString(),
    ...(i.paid_at ? { paidAt: i.paid_at.toISOString() } : {}),
    ...(i.closed_at ? { closedAt: i.closed_at.toISOString() } : {}),
    lines: doc.lines.map((l) => ({
      description: l.description,
      quantity: l.quantity,
      unitPriceMinor: l.unit_price_minor,
      discountMinor: l.discount_minor,
      taxPercent: l.tax_percent,
      taxMinor: l.tax_minor,
      amountMinor: l.amount_minor,
    })),
    subtotalMinor: i.subtotal_minor,
    discountMinor: i.discount_minor,
    taxMinor: i.tax_minor,
    totalMinor: i.total_minor,
    paidMinor: i.paid_minor,
    payments: doc.payments.map((p) => ({
      kind: p.kind,
      amountMinor: p.amount_minor,
      occurredAt: p.occurred_at.toISOString(),
      purchaseId: p.purchase_id,
      ...(p.gateway_payment_id ? { gatewayPaymentId: p.gateway_payment_id } : {}),
    })),
    creditNotes: doc.creditNotes.map((c) => creditNoteSummary(c)),
    links: {
      html: `/v1/invoices/${encodeURIComponent(i.invoice_id)}/invoice.html`,
      pdf: `/v1/invoices/${encodeURIComponent(i.invoice_id)}/invoice.pdf`,
    },
  };
}

function creditNoteSummary(c: CreditNoteRow) {
  return {
    creditNoteId: c.credit_note_id,
    number: c.number,
    numberText: creditNoteNumberText(c.number),
    kind: c.kind,
    amountMinor: c.amount_minor,
    currency: c.currency,
    issuedAt: c.issued_at.toISOString(),
  };
}

export function creditNoteView(c: CreditNoteRow, invoice: InvoiceDocument) {
  return {
    ...creditNoteSummary(c),
    merchantId: c.merchant_id,
    invoiceId: c.invoice_id,
    invoiceNumberText: invoiceNumberText(invoice.invoice.number),
    subscriptionId: invoice.invoice.subscription_id,
    customerId: invoice.invoice.customer_id,
    links: {
      html: `/v1/credit-notes/${encodeURIComponent(c.credit_note_id)}/credit-note.html`,
      pdf: `/v1/credit-notes/${encodeURIComponent(c.credit_note_id)}/credit-note.pdf`,
    },
  };
}

/** What both renderers print, top to bottom: one model, so the HTML and the PDF cannot disagree. */
interface DocumentModel {
  title: string;
  number: string;
  seller: Seller;
  facts: [string, string][];
  table?: { head: string[]; rows: string[][] };
  totals: [string, string][];
  notes: string[];
}

function invoiceModel(doc: InvoiceDocument, seller: Seller): DocumentModel {
  const i = doc.invoice;
  const m = (n: number) => money(n, i.currency);
  const paid = doc.payments.filter((p) => p.kind === 'charge' || p.kind === 'mark_paid');
  return {
    title: 'Invoice',
    number: invoiceNumberText(i.number),
    seller,
    facts: [
      ['Invoice number', invoiceNumberText(i.number)],
      ['Status', i.status],
      ['Issued', day(i.issued_at)!],
      ['Billing period', `${day(i.period_start)} to ${day(i.period_end)}`],
      ['Customer', i.customer_id],
      ['Subscription', i.subscription_id],
      ['Purchase', i.purchase_id],
    ],
    table: {
      head: ['Description', 'Qty', 'Unit price', 'Discount', 'Tax', 'Amount'],
      rows: doc.lines.map((l) => [
        l.description,
        String(l.quantity),
        m(l.unit_price_minor),
        m(l.discount_minor),
        m(l.tax_minor),
        m(l.amount_minor),
      ]),
    },
    totals: [
      ['Subtotal', m(i.subtotal_minor)],
      ['Discounts', m(i.discount_minor)],
      ['Taxes', m(i.tax_minor)],
      ['Total', m(i.total_minor)],
      ['Amount paid', m(i.paid_minor)],
      ['Amount due', m(i.status === 'open' ? i.total_minor - i.paid_minor : 0)],
    ],
    notes: [
      ...paid.map(
        (p) =>
          `Paid ${m(p.amount_minor)} on ${day(p.occurred_at)} (${p.kind === 'mark_paid' ? 'recorded by an operator' : 'card charge'}, Purchase ${p.purchase_id})`,
      ),
      ...doc.creditNotes.map(
        (c) =>
          `Credited ${m(c.amount_minor)} on ${day(c.issued_at)} by credit note ${creditNoteNumberText(c.number)} (${c.kind})`,
      ),
    ],
  };
}

function creditNoteModel(c: CreditNoteRow, invoice: InvoiceDocument, seller: Seller): DocumentModel {
  const i = invoice.invoice;
  const m = (n: number) => money(n, c.currency);
  return {
    title: 'Credit note',
    number: creditNoteNumberText(c.number),
    seller,
    facts: [
      ['Credit note number', creditNoteNumberText(c.number)],
      ['Issued', day(c.issued_at)!],
      ['Reason', c.kind === 'refund' ? 'Refund' : 'Chargeback'],
      ['Credits invoice', `${invoiceNumberText(i.number)} (${day(i.period_start)} to ${day(i.period_end)})`],
      ['Customer', i.customer_id],
      ['Subscription', i.subscription_id],
    ],
    totals: [
      ['Invoice total', m(i.total_minor)],
      ['Credited', m(c.amount_minor)],
    ],
    notes: [],
  };
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

function renderHtml(d: DocumentModel): string {
  const e = escapeHtml;
  const rows = (pairs: [string, string][]) =>
    pairs.map(([k, v]) => `<tr><th>${e(k)}</th><td>${e(v)}</td></tr>`).join('');
  const table = d.table
    ? `<table class="lines"><thead><tr>${d.table.head.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>${d.table.rows
        .map((r) => `<tr>${r.map((c) => `<td>${e(c)}</td>`).join('')}</tr>`)
        .join('')}</tbody></table>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${e(d.title)} ${e(d.number)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;max-width:48rem;margin:2rem auto;color:#111}h1{margin:0 0 1rem}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #ddd}
.lines td:nth-child(n+2),.lines th:nth-child(n+2){text-align:right}.totals{width:50%;margin-left:auto}</style></head>
<body><h1>${e(d.title)} ${e(d.number)}</h1>
<p class="seller"><strong>${e(d.seller.name)}</strong>${d.seller.address.map((l) => `<br>${e(l)}`).join('')}</p>
<table class="facts">${rows(d.facts)}</table>${table}
<table class="totals">${rows(d.totals)}</table>
${d.notes.map((n) => `<p class="note">${e(n)}</p>`).join('\n')}
</body></html>
`;
}

function renderPdf(d: DocumentModel, opts: { compress?: boolean } = {}): Promise<Buffer> {
  const pdf = new PDFDocument({
    size: 'A4',
    margin: 50,
    compress: opts.compress ?? true,
    info: { Title: `${d.title} ${d.number}`, Author: d.seller.name },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pdf.on('data', (c: Buffer) => chunks.push(c));
    pdf.on('end', () => resolve(Buffer.concat(chunks)));
    pdf.on('error', reject);
  });
  const left = 50;
  const width = 495;
  pdf.font('Helvetica-Bold').fontSize(20).text(`${d.title} ${d.number}`, left, 50);
  pdf.moveDown(0.5).font('Helvetica-Bold').fontSize(11).text(d.seller.name);
  pdf.font('Helvetica').fontSize(10);
  for (const line of d.seller.address) pdf.text(line);
  pdf.moveDown();
  for (const [k, v] of d.facts) {
    const y = pdf.y;
    pdf.font('Helvetica-Bold').text(k, left, y, { width: 140 });
    pdf.font('Helvetica').text(v, left + 150, y, { width: width - 150 });
  }
  if (d.table) {
    pdf.moveDown();
    const cols = [190, 35, 75, 60, 55, 80];
    const row = (cells: string[], bold: boolean) => {
      const y = pdf.y;
      let x = left;
      pdf.font(bold ? 'Helvetica-Bold' : 'Helvetica');
      let bottom = y;
      cells.forEach((c, i) => {
        pdf.text(c, x, y, { width: cols[i]! - 5, align: i === 0 ? 'left' : 'right' });
        bottom = Math.max(bottom, pdf.y);
        x += cols[i]!;
      });
      pdf.y = bottom + 4;
      pdf
        .moveTo(left, pdf.y - 2)
        .lineTo(left + width, pdf.y - 2)
        .strokeColor('#cccccc')
        .stroke();
    };
    row(d.table.head, true);
    for (const r of d.table.rows) row(r, false);
  }
  pdf.moveDown();
  for (const [k, v] of d.totals) {
    const y = pdf.y;
    pdf.font(k === 'Total' ? 'Helvetica-Bold' : 'Helvetica');
    pdf.text(k, left + 280, y, { width: 110 });
    pdf.text(v, left + 390, y, { width: 105, align: 'right' });
  }
  pdf.moveDown().font('Helvetica').fontSize(9);
  for (const n of d.notes) pdf.text(n, left, pdf.y, { width });
  pdf.end();
  return done;
}

export const invoiceHtml = (doc: InvoiceDocument, seller: Seller): string => renderHtml(invoiceModel(doc, seller));
export const invoicePdf = (doc: InvoiceDocument, seller: Seller, opts?: { compress?: boolean }): Promise<Buffer> =>
  renderPdf(invoiceModel(doc, seller), opts);
export const creditNoteHtml = (c: CreditNoteRow, invoice: InvoiceDocument, seller: Seller): string =>
  renderHtml(creditNoteModel(c, invoice, seller));
export const creditNotePdf = (
  c: CreditNoteRow,
  invoice: InvoiceDocument,
  seller: Seller,
  opts?: { compress?: boolean },
): Promise<Buffer> => renderPdf(creditNoteModel(c, invoice, seller), opts);

/** The seller from configuration: MERCHANT_NAME and MERCHANT_ADDRESS (lines separated by `;`). */
export function sellerFromConfig(config: { MERCHANT_NAME: string; MERCHANT_ADDRESS: string }): Seller {
  return {
    name: config.MERCHANT_NAME,
    address: config.MERCHANT_ADDRESS.split(';')
      .map((l) => l.trim())
      .filter(Boolean),
  };
}
