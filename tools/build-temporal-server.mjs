#!/usr/bin/env node
// Builds the Temporal server and its SQL tool from the Go module go.temporal.io/server, at the version of the
// `temporalio/server` image in docker-compose.yml (one place names the version), for `npm run test:cluster`.
// Output: .tools/temporal-server-<version>/{temporal-server, temporal-sql-tool, schema/postgresql/v12/...}.
// Idempotent: a second run finds the stamp and does nothing. GOTOOLCHAIN=auto lets Go fetch the toolchain the
// module asks for through the module proxy. About 5 minutes on 2 cores with a warm module cache, ~10 cold.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => console.log(`[temporal-server:build] ${msg}`);

/** The server version of the compose file's `temporalio/server:<version>` image. */
export function composeServerVersion() {
  const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
  const m = /image:\s*temporalio\/server:(\d+\.\d+\.\d+)\b/.exec(compose);
  if (!m) throw new Error('docker-compose.yml has no temporalio/server:<x.y.z> image');
  return m[1];
}

export function serverDir(version) {
  return join(root, '.tools', `temporal-server-${version}`);
}

function built(dir, version) {
  const stamp = join(dir, '.stamp');
  return (
    existsSync(stamp) &&
    readFileSync(stamp, 'utf8') === version &&
    ['temporal-server', 'temporal-sql-tool', 'schema/postgresql/v12/temporal/versioned'].every((f) =>
      existsSync(join(dir, f)),
    )
  );
}

function main() {
  const version = composeServerVersion();
  const dir = serverDir(version);
  if (built(dir, version)) {
    log(`v${version} already built in ${dir}`);
    return;
  }
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0) {
    console.error('[temporal-server:build] Go is required to build the Temporal server (any Go; GOTOOLCHAIN=auto).');
    process.exit(1);
  }
  const t0 = Date.now();
  const staging = `${dir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(join(staging, 'bin'), { recursive: true });
  const env = { ...process.env, GOTOOLCHAIN: 'auto', CGO_ENABLED: '0', GOBIN: join(staging, 'bin'), GOFLAGS: '' };
  log(`building go.temporal.io/server v${version} (server + SQL tool)...`);
  const res = spawnSync(
    'go',
    [
      'install',
      '-trimpath',
      '-ldflags',
      '-s -w',
      `go.temporal.io/server/cmd/server@v${version}`,
      `go.temporal.io/server/cmd/tools/sql@v${version}`,
    ],
    { cwd: staging, env, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (res.status !== 0) {
    console.error(`[temporal-server:build] go install failed after ${((Date.now() - t0) / 1000).toFixed(0)}s`);
    process.exit(1);
  }
  renameSync(join(staging, 'bin', 'server'), join(staging, 'temporal-server'));
  renameSync(join(staging, 'bin', 'sql'), join(staging, 'temporal-sql-tool'));
  // The versioned schema files the SQL tool applies come with the module source.
  const modCache = spawnSync('go', ['env', 'GOMODCACHE'], { env, encoding: 'utf8' }).stdout.trim();
  const schema = join(modCache, `go.temporal.io/server@v${version}`, 'schema', 'postgresql', 'v12');
  cpSync(schema, join(staging, 'schema', 'postgresql', 'v12'), { recursive: true });
  spawnSync('chmod', ['-R', 'u+w', join(staging, 'schema')]); // the module cache is read-only
  rmSync(join(staging, 'bin'), { recursive: true, force: true });
  writeFileSync(join(staging, '.stamp'), version);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  log(`built v${version} in ${((Date.now() - t0) / 1000).toFixed(0)}s into ${dir}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
