import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { type ConfigError, loadConfig } from '../../src/config.js';
import { attackSurface, SECRETS } from './harness.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

type Answer = { status: number; headers: Record<string, string | string[] | undefined>; body: Record<string, unknown> | undefined };

/** node:http rather than fetch: fetch will not send a Host header other than the URL's. */
function scim(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  const url = new URL(`${base}/scim/v2${path}`);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method, headers: { authorization: `Bearer ${SECRETS.SCIM_TOKEN}`, 'content-type': 'application/scim+json', ...(payload ? { 'content-length': String(Buffer.byteLength(payload)) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Every URL a SCIM answer hands out: meta.location, Location, and $ref of members and groups. */
function links(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) links(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if ((k === 'location' || k === '$ref') && typeof v === 'string') out.push(v);
      else links(v, out);
    }
  }
  return out;
}

const FORGED = { host: 'evil.example', 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'evil.example' };

/**
 * Threat (issue 27): meta.location was built from the request's Host (and X-Forwarded-Proto)
 * header, so anyone able to reach the server could make Gatehouse hand an IdP links to their own
 * host, where the IdP would then send its bearer token. Links come from PUBLIC_URL instead.
 */
describe('security: SCIM links come from PUBLIC_URL, never from the Host header', () => {
  const app = attackSurface({ PUBLIC_URL: 'https://gatehouse.acme.test/' });
  const PUBLIC = 'https://gatehouse.acme.test/scim/v2';

  it('a forged Host header gets meta.location, Location and $ref under PUBLIC_URL', async () => {
    const created = await scim(app.base, 'POST', '/Users', FORGED, { schemas: [USER], userName: 'hosty@company.com', emails: [{ value: 'hosty@company.com', primary: true }] });
    expect(created.status).toBe(201);
    const id = created.body!.id as string;
    expect(created.headers.location).toBe(`${PUBLIC}/Users/${id}`);
    expect((created.body!.meta as { location: string }).location).toBe(`${PUBLIC}/Users/${id}`);
    const group = await scim(app.base, 'POST', '/Groups', FORGED, { schemas: [GROUP], displayName: 'hosts', members: [{ value: id }] });
    expect(group.status).toBe(201);
    expect(group.headers.location).toBe(`${PUBLIC}/Groups/${group.body!.id as string}`);

    const answers = [
      created,
      group,
      await scim(app.base, 'GET', `/Users/${id}`, FORGED),
      await scim(app.base, 'GET', '/Users', FORGED),
      await scim(app.base, 'GET', '/Groups', FORGED),
      await scim(app.base, 'GET', '/ServiceProviderConfig', FORGED),
      await scim(app.base, 'GET', '/Schemas', FORGED),
      await scim(app.base, 'GET', '/ResourceTypes', FORGED),
      await scim(app.base, 'PUT', `/Users/${id}`, FORGED, { schemas: [USER], userName: 'hosty@company.com', emails: [{ value: 'hosty@company.com', primary: true }], title: 'Host' }),
    ];
    const all = answers.flatMap((a) => links(a.body));
    expect(all.length).toBeGreaterThan(10);
    for (const link of all) expect(link.startsWith(`${PUBLIC}/`)).toBe(true);
    expect(JSON.stringify(answers.map((a) => [a.headers, a.body]))).not.toContain('evil.example');
  });
});

describe('security: without PUBLIC_URL, SCIM links name the address Gatehouse listens on', () => {
  const app = attackSurface();

  it('a forged Host header still gets links under http://<HOST>:<port>', async () => {
    const created = await scim(app.base, 'POST', '/Users', FORGED, { schemas: [USER], userName: 'hosty@company.com', emails: [{ value: 'hosty@company.com', primary: true }] });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`${app.base}/scim/v2/Users/${created.body!.id as string}`);
    for (const link of links((await scim(app.base, 'GET', '/ResourceTypes', FORGED)).body)) expect(link.startsWith(`${app.base}/scim/v2/`)).toBe(true);
  });
});

describe('PUBLIC_URL is validated at start-up', () => {
  const problems = (value: string) => {
    try {
      loadConfig({ PUBLIC_URL: value });
      return [];
    } catch (error) {
      return (error as ConfigError).problems.filter((p) => p.variable === 'PUBLIC_URL');
    }
  };

  it('refuses what is not an absolute http(s) URL, or carries a query, fragment or credentials', () => {
    for (const bad of ['gatehouse.acme.com', '/scim', 'ftp://gatehouse.acme.com', 'javascript:alert(1)', 'https://gatehouse.acme.com/?x=1', 'https://gatehouse.acme.com/#top', 'https://user:pw@gatehouse.acme.com']) {
      expect({ bad, problems: problems(bad).length }).toEqual({ bad, problems: 1 });
    }
  });

  it('keeps a path prefix and drops a trailing slash', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://acme.test/gatehouse/' }).publicUrl).toBe('https://acme.test/gatehouse');
    expect(loadConfig({ PUBLIC_URL: 'http://localhost:3000' }).publicUrl).toBe('http://localhost:3000');
    expect(loadConfig({}).publicUrl).toBeUndefined();
  });
});
