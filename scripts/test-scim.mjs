#!/usr/bin/env node
// npm run test:scim — runs the identity providers' own SCIM suites (../shared/scim-conformance)
// against a real `gatehouse serve`: Microsoft Entra ID's Postman collection (on an empty server,
// as it counts what it created) and then Okta's SPEC test (which needs one user to exist).
// Entra failures are allowed only where they are listed in KNOWN_ENTRA_FAILURES with the RFC
// clause that makes our answer correct (README → SCIM).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const suites = join(root, '..', 'shared', 'scim-conformance');
const KNOWN_ENTRA_FAILURES = new Set(['Group patch add member', 'Group patch add member2']);

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

function run(command, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

try {
  await readFile(join(suites, 'entra', 'PostmanCollection.json'));
} catch {
  // The IdPs' suites are not part of this repository (they sit in the project's shared/ folder
  // beside a checkout). A clone elsewhere skips them, loudly; REQUIRE_SCIM_SUITES=1 makes it fail.
  console.error(`SCIM conformance suites not found at ${suites}: they come from the project's shared/ folder beside this checkout. SKIPPED (the vitest SCIM tests still run).`);
  process.exit(process.env.REQUIRE_SCIM_SUITES === '1' ? 1 : 0);
}

let stopPostgres;
let databaseUrl;
let tempDir;
if (process.env.TEST_DATABASE_URL) {
  const name = `gh_scim_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(process.env.TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  databaseUrl = url.toString();
  stopPostgres = async () => {
    const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await c.connect();
    await c.query(`drop database if exists ${name} with (force)`);
    await c.end();
  };
} else {
  const { startThrowawayPostgres } = await import(join(root, 'dist', 'src', 'db', 'embedded.js'));
  tempDir = await mkdtemp(join(tmpdir(), 'gatehouse-scim-pg-'));
  await chmod(tempDir, 0o755);
  const server = await startThrowawayPostgres({ databaseDir: join(tempDir, 'data'), port: await freePort() });
  databaseUrl = server.url;
  stopPostgres = server.stop;
}

const port = await freePort();
const token = randomBytes(18).toString('hex');
const base = `http://127.0.0.1:${port}/scim/v2`;
const serve = spawn('node', ['bin/gatehouse.js', 'serve'], {
  cwd: root,
  env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', SCIM_TOKEN: token, LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('gatehouse serve did not start in 60 s')), 60_000);
  const poll = setInterval(async () => {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    } catch {
      // Not listening yet: poll again.
    }
  }, 200);
});

let failed = false;
try {
  console.log('\n== Microsoft Entra ID SCIM collection (newman)');
  const report = join(tempDir ?? tmpdir(), `newman-${process.pid}.json`);
  await run('npx', ['newman', 'run', join(suites, 'entra', 'PostmanCollection.json'), '--env-var', 'Protocol=http', '--env-var', 'Server=127.0.0.1', '--env-var', `Port=:${port}`, '--env-var', 'Api=scim/v2', '--env-var', `token=${token}`, '--folder', 'User tests', '--folder', 'Group tests', '--folder', 'User tests with garbage', '--folder', 'Group tests with garbage', '--reporters', 'cli,json', '--reporter-json-export', report, '--color', 'off']);
  const result = JSON.parse(await readFile(report, 'utf8').catch(() => '{"run":{"failures":[{"source":{"name":"newman did not run"}}],"stats":{"assertions":{"total":0,"failed":1}}}}'));
  const failures = result.run.failures.map((f) => f.source?.name ?? f.error?.test);
  const unexpected = failures.filter((name) => !KNOWN_ENTRA_FAILURES.has(name));
  const assertions = result.run.stats.assertions;
  console.log(`Entra: ${assertions.total - assertions.failed} of ${assertions.total} assertions passed; known and explained: ${failures.filter((n) => KNOWN_ENTRA_FAILURES.has(n)).length}; unexpected: ${unexpected.length}${unexpected.length ? ` (${unexpected.join(', ')})` : ''}`);
  if (unexpected.length > 0) failed = true;
  await rm(report, { force: true });

  console.log('\n== Okta SCIM 2.0 SPEC test');
  const seed = await fetch(`${base}/Users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
    body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'seed.user@atko.com', name: { givenName: 'Seed', familyName: 'User' }, emails: [{ value: 'seed.user@atko.com', type: 'work', primary: true }], active: true }),
  });
  if (seed.status !== 201) throw new Error(`could not seed a user: ${seed.status}`);
  const okta = await run('node', [join(suites, 'run-okta-spec.mjs'), join(suites, 'okta', 'Okta-SCIM-20-SPEC-Test.json'), join(suites, 'okta', 'Initial_Script_Spec.txt'), base, `Bearer ${token}`]);
  if (okta !== 0) failed = true;
} finally {
  serve.kill('SIGTERM');
  await new Promise((r) => serve.on('exit', r));
  await stopPostgres();
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
}
console.log(failed ? '\nSCIM conformance: FAILED' : '\nSCIM conformance: passed');
process.exitCode = failed ? 1 : 0;
