import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { ROOT, type RunningProcess, start } from '../helpers/process.js';

/**
 * Issue 27, High: "One unauthenticated request kills the process". The URL was parsed and
 * percent-decoded outside the request's error handling, so `GET /scim/v2/Users/%E0%A4%A` or an
 * absolute-form target that does not parse (`GET http://[`) ended `gatehouse serve` with an
 * unhandled rejection. This runs the real command and talks to it over raw sockets, because fetch
 * would refuse to send most of these request lines.
 */

interface RawAnswer {
  /** Everything the server wrote before it closed the connection (or the timeout). */
  text: string;
  status: number | undefined;
  /** A socket error (ECONNREFUSED once the server is gone, ECONNRESET, timeout), if any. */
  error: string | null;
}

/**
 * Writes `bytes` as they are, through test/helpers/raw-request-client.mjs (its own process: nock,
 * loaded here, parses every socket write and throws on `http://[` itself), and reads until the
 * server closes the connection.
 */
function rawClient(port: number) {
  const child = spawn(process.execPath, [join(ROOT, 'test/helpers/raw-request-client.mjs'), String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map<number, (answer: RawAnswer) => void>();
  let next = 0;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const { id, text, error } = JSON.parse(line) as { id: number; text: string; error: string | null };
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
    waiting.get(id)?.({ text, status: m ? Number(m[1]) : undefined, error });
    waiting.delete(id);
  });
  return {
    send(bytes: Buffer | string, options: { end?: boolean } = {}): Promise<RawAnswer> {
      const id = next++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        child.stdin!.write(`${JSON.stringify({ id, bytes: Buffer.from(bytes).toString('base64'), end: options.end ?? false })}\n`);
      });
    },
    stop: () => child.kill('SIGKILL'),
  };
}

const requestLine = (method: string, target: string) => `${method} ${target} HTTP/1.1\r\nHost: gatehouse.test\r\nConnection: close\r\n\r\n`;

/** The JSON body of a raw answer (Connection: close, so no chunking from sendJson's content-length). */
const bodyOf = (answer: RawAnswer) => JSON.parse(answer.text.slice(answer.text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;

describe('security: malformed URLs never crash the server (issue 27)', () => {
  let server: RunningProcess;
  let client: ReturnType<typeof rawClient>;

  beforeAll(async () => {
    const database = await createTestDatabase();
    server = start('node', ['bin/gatehouse.js', 'serve'], { DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SCIM_TOKEN: 'scim_malformed_url_token' });
    const [, url] = await server.waitFor(/Gatehouse listening on (http:\/\/\S+) /);
    client = rawClient(Number(new URL(url!).port));
  }, 60_000);

  afterAll(() => {
    client?.stop();
    server?.child.kill('SIGKILL');
  });

  const healthz = async () => (await client.send(requestLine('GET', '/healthz'))).status;

  it('a bad percent-escape in a route parameter is a 400 in SCIM error form, and the server stays up', async () => {
    const answer = await client.send(requestLine('GET', '/scim/v2/Users/%E0%A4%A'));
    expect(answer.status, `${answer.error}; server output: ${server.output().slice(-600)}`).toBe(400);
    expect(bodyOf(answer)).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400' });
    expect(await healthz()).toBe(200);
    expect(server.child.exitCode).toBeNull();
  });

  it('an absolute-form target that does not parse is a 400 with a JSON error, and the server stays up', async () => {
    const answer = await client.send(requestLine('GET', 'http://['));
    expect(answer.status).toBe(400);
    expect(bodyOf(answer)).toMatchObject({ error: expect.stringMatching(/URL/) });
    expect(await healthz()).toBe(200);
    expect(server.child.exitCode).toBeNull();
  });

  it('an overlong UTF-8 escape (%C0%AF, a disguised "/") in a route parameter is a 400, not a crash', async () => {
    const answer = await client.send(requestLine('DELETE', '/scim/v2/Groups/%C0%AF'));
    expect(answer.status).toBe(400);
    expect(bodyOf(answer)).toMatchObject({ status: '400' });
    expect(server.child.exitCode).toBeNull();
  });

  it('property: arbitrary request lines and paths each get a status line, never a 5xx, and /healthz still answers', async () => {
    const hex = fc.constantFrom(...'0123456789abcdefABCDEFxZ%'.split(''));
    const escape = fc.tuple(hex, fc.option(hex, { nil: '' })).map(([a, b]) => `%${a}${b}`);
    const segment = fc.array(fc.oneof(escape, fc.string({ unit: 'grapheme', maxLength: 4 }), fc.constantFrom('..', '.', '[', ']', '@', ':', '?', '#', '//', '\\', '%00', '%2F', '%C0%AF', '%E0%A4%A', '\u0000', '\u00ff')), { maxLength: 6 }).map((parts) => parts.join(''));
    const path = fc.tuple(fc.constantFrom('/', '/scim/v2/Users/', '/scim/v2/Groups/', '/hris/events/', '/slack/events', '/healthz/', '', '*', '//'), fc.array(segment, { maxLength: 4 })).map(([prefix, segments]) => prefix + segments.join('/'));
    const absolute = fc.tuple(fc.constantFrom('http://', 'https://', 'http://[', 'http://[::1', 'http://a:b@', 'ftp://', 'http:', 'http://%zz'), path).map(([scheme, rest]) => scheme + rest);
    const target = fc.oneof(path, absolute, fc.string({ unit: 'binary', maxLength: 40 }));
    const method = fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'CONNECT', 'TRACE', 'PROPFIND', 'M-SEARCH', 'get', 'FOO'), fc.string({ minLength: 1, maxLength: 8 }));
    // Raw bytes too: a request line the parser may refuse before any handler runs. They may also be
    // no request at all yet (blank lines before a request line are allowed), so the client ends its
    // side after them; Node may then close without a word, which is the one other acceptable end.
    const request = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(method, target).map(([m, t]) => ({ bytes: Buffer.from(requestLine(m, t), 'utf8'), raw: false })) },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 60 }).map((bytes) => ({ bytes: Buffer.concat([Buffer.from(bytes), Buffer.from('\r\n\r\n')]), raw: true })) },
    );
    await fc.assert(
      fc.asyncProperty(request, async ({ bytes, raw }) => {
        const answer = await client.send(bytes, { end: raw });
        const shown = `${JSON.stringify(bytes.toString('latin1'))} → ${answer.error ?? ''} ${JSON.stringify(answer.text)}`;
        if (raw && answer.text === '' && answer.error === null) return;
        expect(answer.status, `no status line: ${shown}`).toBeDefined();
        expect(answer.status, shown).toBeLessThan(500);
        expect(server.child.exitCode).toBeNull();
      }),
      { numRuns: 200 },
    );
    expect(await healthz()).toBe(200);
    expect(server.output()).not.toMatch(/unhandled|URIError|Invalid URL/i);
  }, 120_000);
});
