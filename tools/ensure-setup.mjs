#!/usr/bin/env node
// Runs before `npm start` and `npm test`: installs npm packages when node_modules is missing (a fresh clone), then the
// Temporal binaries (idempotent; a no-op when they are in place). So the README's two commands work on a fresh clone.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  console.log('[setup] node_modules is missing: running npm ci...');
  // npm ci installs exactly the lockfile (which lists every platform's packages) and never rewrites it.
  run('npm', ['ci', '--no-audit', '--no-fund']);
}
run(process.execPath, [join(root, 'tools', 'install-temporal.mjs'), '--quiet']);
