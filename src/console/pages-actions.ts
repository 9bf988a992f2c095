/**
 * An action's confirmation: what will move (the action's own sentence once its fields parse), its fields, and the
 * Idempotency-Key the change is sent with (made when the form is shown, so a double submit sends the same key and
 * the engine does the change once).
 */
import type { FieldIssue } from '@temporal-billing/client/schemas';
import { html, type SafeHtml } from './html';
import { csrfField, fieldError, issuesList, paths } from './layout';
import type { ActionContext, ActionSpec } from './backend';

export interface ConfirmView {
  spec: ActionSpec<unknown>;
  ctx: ActionContext;
  id: string;
  csrf: string;
  idempotencyKey: string;
  form: Record<string, string>;
  issues: FieldIssue[];
  message?: string | undefined;
  /** The fields parsed and are shown back read-only: the button now makes the change. */
  reviewed: boolean;
}

/** The sentence of what will move, from the form as it stands (or the action's label when it does not parse yet). */
function whatMoves(v: ConfirmView): string {
  const parsed = v.spec.parse(v.form, v.ctx);
  if (parsed.ok) return v.spec.describe(parsed.input, v.ctx);
  return `${v.spec.label}: fill in the fields below and review; nothing moves before you confirm.`;
}

export function confirmPage(v: ConfirmView): SafeHtml {
  const back = v.spec.target === 'subscription' ? paths.subscription(v.id) : paths.cycle(v.id);
  const field = (f: ActionSpec['fields'][number]) => {
    const invalid = v.issues.some((i) => i.path === f.name);
    const aria = invalid ? html` aria-invalid="true" aria-describedby="${f.name}-error"` : '';
    const input =
      f.kind === 'select'
        ? html`<select id="${f.name}" name="${f.name}" ${aria}>
            ${(f.options ?? []).map(
              ([value, label]) =>
                html`<option value="${value}" ${v.form[f.name] === value ? html` selected` : ''}>${label}</option>`,
            )}
          </select>`
        : html`<input id="${f.name}" name="${f.name}" value="${v.form[f.name] ?? ''}" ${aria} />`;
    return html`<div class="field">
      <label for="${f.name}">${f.label}</label>${input} ${f.hint ? html`<span class="hint">${f.hint}</span>` : ''}
      ${fieldError(v.issues, f.name)}
    </div>`;
  };
  const shown = (f: ActionSpec['fields'][number]) => {
    const value = v.form[f.name] ?? '';
    const label = f.options?.find(([o]) => o === value)?.[1] ?? (value || '(empty)');
    return html`<p>${f.label}: <strong>${label}</strong><input type="hidden" name="${f.name}" value="${value}" /></p>`;
  };
  /** The button makes the change: no fields to fill, or they were reviewed. */
  const direct = v.reviewed || v.spec.fields.length === 0;
  return html`<p><a href="${back}">← Back</a></p>
    <h1>${v.spec.label}: ${v.id}</h1>
    ${issuesList(v.issues, v.message)}
    <div class="confirm">
      <p><strong>What will move:</strong> ${whatMoves(v)}</p>
      <p class="hint">
        Sent with Idempotency-Key <code>${v.idempotencyKey}</code>: submitting twice changes nothing twice.
      </p>
    </div>
    <form method="post" action="${paths.action(v.spec.target, v.id, v.spec.name)}">
      ${csrfField(v.csrf)}
      <input type="hidden" name="idempotencyKey" value="${v.idempotencyKey}" />
      ${direct ? html`<input type="hidden" name="confirmed" value="yes" />` : ''}
      ${v.reviewed ? v.spec.fields.map(shown) : v.spec.fields.map(field)}
      <button type="submit" class="${direct ? 'danger' : ''}">${direct ? `Confirm: ${v.spec.label}` : 'Review'}</button>
      <a href="${back}">Cancel</a>
    </form>`;
}
