/** The secret-redaction hook: every text an integration keeps (log lines, error messages, codes) goes through one. */
export type Redact = (text: string) => string;

export interface RedactorOptions {
  /** Literal secrets (API keys, tokens); shorter than 4 characters they are not searched for. */
  secrets?: readonly string[];
  /** Patterns that carry secrets, e.g. `api_token=...` in a URL, each with its replacement. */
  patterns?: ReadonlyArray<readonly [RegExp, string]>;
  /** Default `[REDACTED]`. */
  replacement?: string;
}

export function redactor(options: RedactorOptions): Redact {
  const replacement = options.replacement ?? '[REDACTED]';
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 4);
  const patterns = options.patterns ?? [];
  return (text) => {
    let out = text;
    for (const [pattern, replace] of patterns) out = out.replace(pattern, replace);
    for (const secret of secrets) out = out.split(secret).join(replacement);
    return out;
  };
}

export const noRedaction: Redact = (text) => text;
