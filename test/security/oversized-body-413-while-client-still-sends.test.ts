import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signHris } from '../../src/intake/hris-signature.js';
import { ROOT } from '../helpers/process.js';
import { slackHeaders } from '../helpers/slack-signing.js';
import { attackSurface, SECRETS } from './harness.js';

/**
 * Issue 17, "Inbound requests": a client that writes its whole 2 MiB body before it reads (Python's
 * urllib, requests, most scripts) got "broken pipe" or ECONNRESET instead of the 413, because the
 * server answered and closed the socket while the body was still arriving, and the kernel answered
 * the unread bytes with a reset that threw the 413 away. Every endpoint that limits its body must
 * deliver the 413, whichever way the body is framed, and still store nothing.
 */
describe('security: an oversized body gets its 413 even when the client keeps sending', () => {
  const app = attackSurface();
  const port = () => Number(new URL(app.base).port);
  const MIB = 1024 * 1024;
  const hire = (mib: number) => JSON.stringify({ event_type: 'employee.hired', event_id: `evt_huge_${mib}`, timestamp: '2026-11-20T09:00:00Z', data: { employee_id: 'huge', email: 'huge@company.com', padding: 'x'.repeat(mib * MIB) } });
  const slackBody = (mib: number) => `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', padding: 'x'.repeat(mib * MIB) }))}`;

  /** Every body-limited endpoint, with the headers a legitimate sender would add (so only the size is wrong). */
  const endpoint = (name: string, path: string, body: (mib: number) => string, headers: (body: string) => Record<string, string>) => ({ name, path, body, headers });
  const endpoints = [
    endpoint('HRIS webhook', '/hris/events', hire, (b) => ({ 'content-type': 'application/json', 'gatehouse-signature': signHris(SECRETS.HRIS_WEBHOOK_SECRET, b) })),
    endpoint('BambooHR webhook', '/hris/bamboohr', hire, () => ({ 'content-type': 'application/json' })),
    endpoint('SCIM', '/scim/v2/Users', hire, () => ({ 'content-type': 'application/scim+json', authorization: `Bearer ${SECRETS.SCIM_TOKEN}` })),
    endpoint('Slack', '/slack/events', slackBody, (b) => ({ 'content-type': 'application/x-www-form-urlencoded', ...slackHeaders(SECRETS.SLACK_SIGNING_SECRET, b) })),
  ];

  /** Runs test/helpers/write-whole-request-then-read.mjs: the whole body is written before a byte of the answer is read. */
  async function writeAllThenRead(path: string, headers: Record<string, string>, body: string, framing: 'content-length' | 'chunked', options: { fillBytes?: number; readEarly?: boolean } = {}) {
    const args = JSON.stringify({ port: port(), path, headers, framing, ...options });
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile(process.execPath, [join(ROOT, 'test/helpers/write-whole-request-then-read.mjs'), args], { maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => (error ? reject(new Error(`the raw client failed: ${stderr || error.message}`)) : resolve(stdout)));
      child.stdin!.end(body);
    });
    return JSON.parse(out) as { status: string; error: string | null; written: number };
  }

  // 2 MiB over a kept-alive connection, and what urllib sends: `Connection: close`, here with 8 MiB,
  // more than loopback's socket buffers hold, so a server that closes early cannot hide it.
  const cases = [
    { mib: 2, connection: 'keep-alive' },
    { mib: 8, connection: 'close' },
  ] as const;
  for (const { name, path, body, headers } of endpoints) {
    for (const framing of ['content-length', 'chunked'] as const) {
      for (const { mib, connection } of cases) {
        it(`${name}, ${mib} MiB framed by ${framing}, Connection: ${connection}: the whole body is written and the 413 is read`, async () => {
          const sent = body(mib);
          const result = await writeAllThenRead(path, { ...headers(sent), connection }, sent, framing);
          expect({ status: result.status, error: result.error, written: result.written }).toEqual({ status: 'HTTP/1.1 413 Payload Too Large', error: null, written: Buffer.byteLength(sent) });
        });
      }
    }
  }

  it('an answer decided before the body is read (SCIM 401, Slack 401 for a stale timestamp) reaches a client that sends 8 MiB with Connection: close', async () => {
    const sent = hire(8);
    const scim = await writeAllThenRead('/scim/v2/Users', { 'content-type': 'application/scim+json', authorization: 'Bearer wrong', connection: 'close' }, sent, 'content-length');
    expect({ status: scim.status, error: scim.error }).toEqual({ status: 'HTTP/1.1 401 Unauthorized', error: null });
    const stale = { ...slackHeaders(SECRETS.SLACK_SIGNING_SECRET, sent, Math.floor(Date.now() / 1000) - 600), connection: 'close' };
    const slack = await writeAllThenRead('/slack/events', stale, sent, 'chunked');
    expect({ status: slack.status, error: slack.error }).toEqual({ status: 'HTTP/1.1 401 Unauthorized', error: null });
  });

  it('a sender that goes on far past the limit is cut off once the server has thrown 16 MiB away, after its 413', async () => {
    // Declares 128 MiB and writes until the server stops it, reading as it goes (as curl does).
    const declared = 128 * MIB;
    const result = await writeAllThenRead('/hris/events', { 'content-type': 'application/json' }, '', 'content-length', { fillBytes: declared, readEarly: true });
    expect(result.status).toBe('HTTP/1.1 413 Payload Too Large');
    // The kernel buffers on both sides hold some MiB more than the server read; far from 128.
    expect(result.written).toBeLessThan(declared);
    expect(result.error).not.toBeNull();
  });

  const python = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p));
  it.skipIf(!python)('Python urllib posting 8 MiB reads the 413 (HRIS and Slack), not "broken pipe"', async () => {
    // urllib sends Connection: close and writes the whole body before it reads the answer.
    const script = [
      'import sys, json, urllib.request, urllib.error',
      'args = json.loads(sys.argv[1]); body = sys.stdin.buffer.read()',
      'req = urllib.request.Request(args["url"], data=body, headers=args["headers"], method="POST")',
      'try:',
      '    print(urllib.request.urlopen(req, timeout=20).status)',
      'except urllib.error.HTTPError as e:',
      '    print(e.code)',
      'except Exception as e:',
      '    print(type(e).__name__, e)',
    ].join('\n');
    for (const { name, path, body, headers } of [endpoints[0]!, endpoints[3]!]) {
      const sent = body(8);
      const out = await new Promise<string>((resolve, reject) => {
        const child = execFile(python!, ['-c', script, JSON.stringify({ url: `${app.base}${path}`, headers: headers(sent) })], (error, stdout, stderr) => (error ? reject(new Error(`python failed: ${stderr || error.message}`)) : resolve(stdout.trim())));
        child.stdin!.end(sent);
      });
      expect(out, name).toBe('413');
    }
  });

  it.each(endpoints)('$name: Node fetch, streaming a 2 MiB body without a length, reads the 413', async (endpoint) => {
    const sent = endpoint.body(2);
    const bytes = Buffer.from(sent);
    // A stream body makes fetch send it chunked: the size is known only by reading it.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 64 * 1024) controller.enqueue(bytes.subarray(at, at + 64 * 1024));
        controller.close();
      },
    });
    const res = await fetch(`${app.base}${endpoint.path}`, { method: 'POST', headers: endpoint.headers(sent), body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    await res.body?.cancel();
  });

  const curl = ['/usr/bin/curl', '/usr/local/bin/curl', '/bin/curl'].find((p) => existsSync(p));
  it.skipIf(!curl)('curl posting 8 MiB reads the 413 (HRIS and Slack)', async () => {
    for (const endpoint of [endpoints[0]!, endpoints[3]!]) {
      const sent = endpoint.body(8);
      const headers = Object.entries(endpoint.headers(sent)).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
      const status = await new Promise<string>((resolve, reject) => {
        const child = execFile(curl!, ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '20', '-X', 'POST', ...headers, '--data-binary', '@-', `${app.base}${endpoint.path}`], (error, stdout, stderr) => (error ? reject(new Error(`curl failed: ${stderr || error.message}`)) : resolve(stdout)));
        child.stdin!.end(sent);
      });
      expect(status, endpoint.name).toBe('413');
    }
  });

  it('stored nothing, called Slack for nothing, and still serves', async () => {
    expect((await fetch(`${app.base}/healthz`)).status).toBe(200);
    expect(await app.gatehouse.database.db.selectFrom('person_events').select('id').execute()).toEqual([]);
    expect(await app.gatehouse.database.db.selectFrom('people').select('id').execute()).toEqual([]);
    expect(app.slack.calls).toEqual([]);
  });
});
