/** Test helpers shared by the settlement tests: a capturing pino-compatible logger and a secret-leak check. */
import { inspect } from 'node:util';

export interface CapturedLine {
  level: string;
  obj: object;
  msg: string | undefined;
}

export function capturingLogger(): {
  lines: CapturedLine[];
  text(): string;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
} {
  const lines: CapturedLine[] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj, msg });
  };
  return {
    lines,
    text: () => lines.map((l) => `${l.level} ${JSON.stringify(l.obj)} ${l.msg ?? ''}`).join('\n'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
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
