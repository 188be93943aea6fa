/**
 * npm run bench:http — `gatehouse serve` (a real child process) under load: REQUESTS signed HRIS
 * webhooks from CONCURRENCY concurrent senders (each 202 means the event is committed), and, at
 * the same time, Slack-signed `/access help` commands and button clicks, whose HTTP response is
 * Slack's ack (Slack gives up at 3 s). Prints requests/second and p50/p99 latencies.
 */
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { signHris } from '../src/intake/hris-signature.js';
import { benchDatabase } from './bench-database.js';
import { percentile, report } from './result.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const SLACK_REQUESTS = Number(process.env.BENCH_SLACK_REQUESTS ?? 300);
const HRIS_SECRET = 'bench-hris-secret';
const SLACK_SECRET = 'bench-slack-secret';

const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-http-'));
await chmod(dir, 0o755);
const database = await benchDatabase(dir, 'http');
// response_url answers go here (Bolt's respond() posts to it).
const sink = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end('ok'));
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const responseUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}/response`;

const port = 30_000 + (process.pid % 20_000);
const child = spawn(process.execPath, ['bin/gatehouse.js', 'serve'], {
  env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: database.url, PORT: String(port), HOST: '127.0.0.1', HRIS_WEBHOOK_SECRET: HRIS_SECRET, SLACK_SIGNING_SECRET: SLACK_SECRET, LOG_LEVEL: 'warn', SYSTEMS: 'okta,google,slack' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let output = '';
child.stdout.on('data', (c: Buffer) => (output += c.toString()));
child.stderr.on('data', (c: Buffer) => (output += c.toString()));
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  if ((await fetch(`${base}/readyz`).then((r) => r.status).catch(() => 0)) === 200) break;
  if (i > 600) throw new Error(`serve did not start:\n${output}`);
  await new Promise((r) => setTimeout(r, 100));
}

async function timed(fn: () => Promise<Response>): Promise<{ ms: number; status: number }> {
  const start = performance.now();
  const res = await fn();
  await res.arrayBuffer();
  return { ms: performance.now() - start, status: res.status };
}

async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) out[i] = await task(i);
    }),
  );
  return out;
}

const hris = (i: number) => {
  const body = JSON.stringify({ event_type: 'employee.hired', event_id: `bench-${i}`, timestamp: '2026-11-20T09:00:00Z', data: { employee_id: `b${i}`, email: `b${i}@company.com`, first_name: 'Bench', last_name: String(i), department: 'Sales' } });
  return timed(() => fetch(`${base}/hris/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'gatehouse-signature': signHris(HRIS_SECRET, body) }, body }));
};
const slackSigned = (body: string) => {
  const at = Math.floor(Date.now() / 1000);
  const signature = `v0=${createHmac('sha256', SLACK_SECRET).update(`v0:${at}:${body}`).digest('hex')}`;
  return { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(at), 'x-slack-signature': signature };
};
const slash = (i: number) => {
  const body = new URLSearchParams({ token: 'legacy', team_id: 'T0', team_domain: 'acme', channel_id: 'C0', channel_name: 'general', user_id: `U${i}`, user_name: 'u', command: '/access', text: 'help', api_app_id: 'A0', response_url: responseUrl, trigger_id: `${i}.1.x` }).toString();
  return timed(() => fetch(`${base}/slack/events`, { method: 'POST', headers: slackSigned(body), body }));
};
const button = (i: number) => {
  const payload = { type: 'block_actions', api_app_id: 'A0', token: 'legacy', team: { id: 'T0', domain: 'acme' }, user: { id: `U${i}`, username: 'u', name: 'u', team_id: 'T0' }, container: { type: 'message', message_ts: '1.1', channel_id: 'D0', is_ephemeral: false }, trigger_id: `${i}.2.x`, response_url: responseUrl, actions: [{ action_id: 'request_approve', block_id: 'b', value: '999999', type: 'button', action_ts: '1' }] };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return timed(() => fetch(`${base}/slack/events`, { method: 'POST', headers: slackSigned(body), body }));
};

// Warm-up, then the load: webhooks from CONCURRENCY senders while Slack traffic runs alongside.
await pool(50, 10, (i) => hris(-1 - i));
const started = performance.now();
const [webhooks, slashes, buttons] = await Promise.all([pool(REQUESTS, CONCURRENCY, hris), pool(SLACK_REQUESTS, 5, slash), pool(SLACK_REQUESTS, 5, button)]);
const seconds = (performance.now() - started) / 1000;
const hrisSeconds = seconds;
const bad = [...webhooks, ...slashes, ...buttons].filter((r) => r.status !== 202 && r.status !== 200);
const sorted = (xs: { ms: number }[]) => xs.map((x) => x.ms).sort((a, b) => a - b);
const w = sorted(webhooks);
const s = sorted(slashes);
const b = sorted(buttons);
const f = (n: number) => n.toFixed(0);
console.log('bench:http — gatehouse serve (child process) under concurrent webhook and Slack traffic');
console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores (server and load generator share them), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, Postgres: ${database.kind}`);
console.log(`work: ${REQUESTS} signed HRIS hires from ${CONCURRENCY} concurrent senders, with ${SLACK_REQUESTS} /access commands and ${SLACK_REQUESTS} button clicks (5 concurrent each) alongside; runs: 1; non-2xx: ${bad.length}`);
console.log(`HRIS webhook: ${(REQUESTS / hrisSeconds).toFixed(0)} requests/s; latency p50 ${f(percentile(w, 50))} ms, p99 ${f(percentile(w, 99))} ms (202 = committed)`);
console.log(`Slack ack: slash command p50 ${f(percentile(s, 50))} ms, p99 ${f(percentile(s, 99))} ms; button p50 ${f(percentile(b, 50))} ms, p99 ${f(percentile(b, 99))} ms (Slack's limit: 3,000 ms)`);
report({ name: 'HRIS webhook', work: `${REQUESTS} signed hires, ${CONCURRENCY} concurrent senders, Slack traffic alongside, Postgres ${database.kind}`, runs: 1, unit: 'requests/s', median: Math.round(REQUESTS / hrisSeconds), notes: `p50 ${f(percentile(w, 50))} ms, p99 ${f(percentile(w, 99))} ms; ${bad.length} non-2xx` });
report({ name: 'Slack ack under load', work: `${SLACK_REQUESTS} /access commands + ${SLACK_REQUESTS} button clicks during the webhook load`, runs: 1, unit: 'ms p99 (slash)', median: Math.round(percentile(s, 99)), notes: `slash p50 ${f(percentile(s, 50))} ms; button p50 ${f(percentile(b, 50))} ms, p99 ${f(percentile(b, 99))} ms; limit 3,000 ms` });

child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
sink.close();
await database.stop();
await rm(dir, { recursive: true, force: true });
process.exit(bad.length > 0 ? 1 : 0);
