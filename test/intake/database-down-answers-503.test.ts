import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gatehouse, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { signBamboo } from '../../src/intake/bamboohr.js';
import { signHris } from '../../src/intake/hris-signature.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase } from '../helpers/database.js';
import { type RunningProcess, start } from '../helpers/process.js';

const SECRET = 'whsec_db_down';
const KEY = 'bamboo_db_down';
const TOKEN = 'scim_db_down';

/**
 * A TCP proxy in front of Postgres, in its own process (the test worker's nock would intercept raw
 * sockets): killing it is the database going away for real, with open connections cut and new
 * ones refused, as a Postgres restart or a network partition does.
 */
const PROXY = `
const net = require('node:net');
const [host, port, listen] = process.argv.slice(1);
const sockets = new Set();
const server = net.createServer((client) => {
  const upstream = net.connect(Number(port), host);
  for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); }
  client.pipe(upstream).pipe(client);
});
server.listen(Number(listen), '127.0.0.1', () => console.log('listening ' + server.address().port));
process.on('SIGTERM', () => { for (const s of sockets) s.destroy(); server.close(() => process.exit(0)); });
`;

function startProxy(target: URL, listenPort = 0): RunningProcess {
  return start(process.execPath, ['-e', PROXY, target.hostname, target.port || '5432', String(listenPort)], {});
}

describe('intake with the database down', () => {
  let gatehouse: Gatehouse;
  let proxy: RunningProcess;
  let proxyPort: number;
  let target: URL;
  let base: string;
  beforeAll(async () => {
    const database = await createTestDatabase();
    target = new URL(database.url);
    proxy = startProxy(target);
    proxyPort = Number((await proxy.waitFor(/listening (\d+)/))[1]);
    const viaProxy = new URL(database.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxyPort);
    gatehouse = await startGatehouse(
      loadConfig({ DATABASE_URL: viaProxy.toString(), PORT: '0', HOST: '127.0.0.1', HRIS_WEBHOOK_SECRET: SECRET, BAMBOOHR_WEBHOOK_SECRET: KEY, SCIM_TOKEN: TOKEN }),
      createLogger('silent'),
    );
    base = `http://127.0.0.1:${gatehouse.port}`;
  });
  afterAll(async () => {
    proxy?.child.kill('SIGTERM');
    await gatehouse?.stop().catch(() => {});
  });

  const event = (id: string) =>
    JSON.stringify({ event_type: 'employee.hired', event_id: id, timestamp: '2026-11-22T15:01:00Z', data: { employee_id: id, email: `${id}@company.com` } });
  const hris = (body: string) => fetch(`${base}/hris/events`, { method: 'POST', headers: { 'gatehouse-signature': signHris(SECRET, body) }, body });
  const bamboo = (body: string) => {
    const { signature, timestamp } = signBamboo(KEY, body);
    return fetch(`${base}/hris/bamboohr`, { method: 'POST', headers: { 'x-bamboohr-signature': signature, 'x-bamboohr-timestamp': timestamp }, body });
  };
  const scim = (body: unknown) => fetch(`${base}/scim/v2/Users`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' }, body: JSON.stringify(body) });

  it('answers 503 on every intake while Postgres is unreachable, and the retried event is accepted once it is back', async () => {
    expect((await hris(event('evt_before'))).status).toBe(202);
    // Let the orchestrator finish that hire's jobs first: a connection cut inside one of its
    // transactions is the foundation's concern (an unlistened pg client error), not intake's.
    for (let i = 0; i < 100; i++) {
      const { rows } = await gatehouse.database.pool.query<{ n: number }>("select count(*)::int as n from pgboss.job where state in ('created', 'active', 'retry') and start_after <= now()");
      if (rows[0]!.n === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    proxy.child.kill('SIGTERM');
    await proxy.exited;

    const down = await hris(event('evt_during'));
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('5');
    expect(((await down.json()) as { error: string }).error).toContain('database is unavailable');

    const bambooDown = await bamboo(JSON.stringify({ employees: [{ id: '77', action: 'Updated', timestamp: '2026-11-22T15:01:00+0000', changedFields: ['Work Email'], fields: { 'Work Email': 'b77@company.com' } }] }));
    expect(bambooDown.status).toBe(503);

    const scimDown = await scim({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'down@company.com' });
    expect(scimDown.status).toBe(503);
    expect(await scimDown.json()).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '503' });

    // Postgres comes back on the same address; the sender's retry is new to the store.
    proxy = startProxy(target, proxyPort);
    await proxy.waitFor(/listening/);
    let retried: Response | undefined;
    for (let attempt = 0; attempt < 20; attempt++) {
      retried = await hris(event('evt_during'));
      if (retried.status !== 503) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(retried!.status).toBe(202);
    expect(await retried!.json()).toEqual({ accepted: true, event_id: 'evt_during' });
  });
});
