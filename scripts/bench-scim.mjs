#!/usr/bin/env node
// node scripts/bench-scim.mjs [USERS] (after npm run build): creates USERS users over SCIM against
// a real server in-process, then times the lookups an IdP makes on every sync. Uses
// TEST_DATABASE_URL (a throwaway database on it) or a throwaway embedded Postgres.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src');
const { startGatehouse } = await import(join(dist, 'app.js'));
const { loadConfig } = await import(join(dist, 'config.js'));
const { createLogger } = await import(join(dist, 'log.js'));
const users = Number(process.argv[2] ?? 2000);

const freePort = () => new Promise((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); }); });
let url;
let cleanup;
if (process.env.TEST_DATABASE_URL) {
  const name = `gh_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const u = new URL(process.env.TEST_DATABASE_URL);
  u.pathname = `/${name}`;
  url = u.toString();
  cleanup = async () => { await admin.query(`drop database if exists ${name} with (force)`); await admin.end(); };
} else {
  const { startThrowawayPostgres } = await import(join(dist, 'db', 'embedded.js'));
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-pg-'));
  await chmod(dir, 0o755);
  const server = await startThrowawayPostgres({ databaseDir: join(dir, 'data'), port: await freePort() });
  url = server.url;
  cleanup = async () => { await server.stop(); await rm(dir, { recursive: true, force: true }); };
}

const gatehouse = await startGatehouse(loadConfig({ DATABASE_URL: url, PORT: '0', HOST: '127.0.0.1', SCIM_TOKEN: 'bench', LOG_LEVEL: 'silent' }), createLogger('silent'));
try {
  const base = `http://127.0.0.1:${gatehouse.port}/scim/v2`;
  const headers = { authorization: 'Bearer bench', 'content-type': 'application/scim+json' };
  const ids = [];
  let t = performance.now();
  for (let i = 0; i < users; i += 10) {
    const batch = await Promise.all(Array.from({ length: Math.min(10, users - i) }, (_, j) => {
      const n = i + j;
      const body = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `u${n}@company.com`, emails: [{ value: `u${n}@company.com`, primary: true }], name: { givenName: 'U', familyName: String(n) } };
      return fetch(`${base}/Users`, { method: 'POST', headers, body: JSON.stringify(body) }).then((r) => r.json());
    }));
    ids.push(...batch.map((b) => b.id));
  }
  console.log(`POST /Users (10 at a time), ${users} users: ${((performance.now() - t) / users).toFixed(1)} ms per user`);
  const group = await (await fetch(`${base}/Groups`, { method: 'POST', headers, body: JSON.stringify({ displayName: 'everyone', members: ids.slice(0, 500).map((value) => ({ value })) }) })).json();
  const time = async (label, path, n = 20) => {
    t = performance.now();
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${base}${path}`, { headers });
      await res.text();
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    }
    console.log(`${label}: ${((performance.now() - t) / n).toFixed(1)} ms`);
  };
  await time('GET /Users?filter=userName eq "…" (indexed)', `/Users?filter=${encodeURIComponent(`userName eq "u${Math.floor(users / 2)}@company.com"`)}`);
  await time('GET /Users?startIndex=…&count=100 (one page)', `/Users?startIndex=${Math.floor(users / 2)}&count=100`);
  await time('GET /Users?filter=userName sw "u1" (evaluated in memory)', `/Users?filter=${encodeURIComponent('userName sw "u1"')}`, 5);
  await time('GET /Groups/{id} (500 members)', `/Groups/${group.id}`);
} finally {
  await gatehouse.stop();
  await cleanup();
}
