/**
 * Looking for secrets in what code logs and throws: one capturing logger (it fits every logger parameter in src/, and
 * is its own `.logger`), every rendering of a caught error, and catching an expected failure.
 */
import { inspect } from 'node:util';
import type { Logger } from '../../src/integrations/http';

export interface CapturedLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

export interface CapturingLogger extends Logger {
  lines: CapturedLine[];
  /** Every line as text, for `not.toContain(secret)`. */
  text(): string;
  /** Itself, for `const { logger, lines } = capturingLogger()`. */
  logger: Logger;
}

export function capturingLogger(): CapturingLogger {
  const lines: CapturedLine[] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg?: string) => {
    lines.push({ level, obj, msg });
  };
  const captured: Omit<CapturingLogger, 'logger'> = {
    lines,
    text: () => lines.map((l) => `${l.level} ${JSON.stringify(l.obj)} ${l.msg ?? ''}`).join('\n'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
  return Object.assign(captured, { logger: captured });
}

/** Every way a caught error could be rendered: message, stack, JSON, util.inspect (deep, incl. hidden props). */
export function renderings(err: unknown): string[] {
  const e = err as Error;
  return [
    String(e.message),
    String(e.stack),
    JSON.stringify(err),
    inspect(err, { depth: 10, showHidden: true }),
    JSON.stringify(Object.getOwnPropertyNames(err).map((k) => [k, (err as Record<string, unknown>)[k]])),
  ];
}

export async function catchError(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
