/**
 * Server-rendered HTML with escaping by default: `html` is a tagged template whose interpolations are escaped unless
 * they are themselves `html` fragments (or arrays of them). Pages are built from it and nothing else, so a customer
 * id or a decline message can never become markup.
 */

const SAFE = Symbol('safe-html');

export interface SafeHtml {
  readonly [SAFE]: true;
  readonly text: string;
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const isSafe = (v: unknown): v is SafeHtml => typeof v === 'object' && v !== null && SAFE in v;

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (Array.isArray(v)) return v.map((x: HtmlValue) => render(x)).join('');
  if (isSafe(v)) return v.text;
  if (typeof v === 'string') return escapeHtml(v);
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

/** Markup already known to be safe (our own constants only; never user input). */
export function trusted(text: string): SafeHtml {
  return { [SAFE]: true, text };
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return trusted(out);
}

/** A query string from parameters, leaving out the empty ones (for links that keep a list's filters). */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
