import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signBamboo } from '../../src/intake/bamboohr.js';
import { parsePeopleText } from '../../src/people/people-file.js';
import { parsePolicyText } from '../../src/policy/loader.js';
import { DEFAULT_LEVELS, loadLevels } from '../../src/policy/levels.js';
import { attackSurface, hireEvent, postHris, SECRETS } from './harness.js';

/**
 * Threat (issue 27): input keys named __proto__, constructor or prototype reach code that merges
 * or assigns by key (a person's attributes, BambooHR fields, CSV columns). Every intake path
 * refuses them with a 400 (or a row error) naming the key, and stores nothing.
 */
describe('security: __proto__ / constructor / prototype keys in HRIS, BambooHR, import and policy input', () => {
  const app = attackSurface();
  const people = async () => (await app.gatehouse.database.db.selectFrom('people').select('employee_id').execute()).map((p) => p.employee_id);
  const events = async () => (await app.gatehouse.database.db.selectFrom('person_events').select('id').execute()).length;

  it('HRIS webhook: such a key anywhere in the body is a 400 naming it, and nothing is stored', async () => {
    const bodies: [string, string][] = [
      ['data.attributes.constructor', JSON.stringify(hireEvent('p1', { attributes: { constructor: 'x' } }))],
      ['data.attributes.__proto__', `{"event_type":"employee.hired","event_id":"evt_p2","timestamp":"2026-11-20T09:00:00Z","data":{"employee_id":"p2","email":"p2@company.com","attributes":{"__proto__":"admin"}}}`],
      ['data.__proto__', `{"event_type":"employee.hired","event_id":"evt_p3","timestamp":"2026-11-20T09:00:00Z","data":{"employee_id":"p3","email":"p3@company.com","__proto__":{"department":"Engineering"}}}`],
      ['events.1.data.attributes.Prototype', JSON.stringify({ events: [hireEvent('p4'), hireEvent('p5', { attributes: { Prototype: 'x' } })] })],
    ];
    for (const [path, body] of bodies) {
      const res = await postHris(app.base, JSON.parse(body));
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(((await res.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toContain(path);
    }
    expect(await people()).toEqual([]);
    expect(await events()).toBe(0);
  });

  it('BambooHR: such a field name is a 400, and nothing is stored', async () => {
    for (const fields of ['{"__proto__":"x","Work Email":"b1@company.com"}', '{"constructor":"x","Work Email":"b1@company.com"}']) {
      const body = `{"employees":[{"id":"b1","action":"Updated","timestamp":"${new Date().toISOString()}","changedFields":["Work Email"],"fields":${fields}}]}`;
      const { signature, timestamp } = signBamboo(SECRETS.BAMBOOHR_WEBHOOK_SECRET, body);
      const res = await fetch(`${app.base}/hris/bamboohr`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-bamboohr-signature': signature, 'x-bamboohr-timestamp': timestamp }, body });
      expect(res.status).toBe(400);
      expect(JSON.stringify(await res.json())).toMatch(/employees\.0\.fields\.(__proto__|constructor)/);
    }
    expect(await people()).toEqual([]);
    expect(await events()).toBe(0);
  });

  it('the HRIS webhook still accepts ordinary attributes (the refusals above are about the names)', async () => {
    expect((await postHris(app.base, hireEvent('ok1', { attributes: { badge: '42', constructor_team: 'x' } }))).status).toBe(202);
  });

  it('CSV and JSON people files: a column or key with such a name is a row error, and the row is not read', () => {
    const csv = parsePeopleText('employee_id,email,attributes.__proto__,attributes.level\ne1,e1@company.com,admin,1\n', 'csv');
    expect(csv.records).toEqual([]);
    expect(csv.errors).toEqual([expect.objectContaining({ row: 2, path: 'attributes.__proto__' })]);
    const header = parsePeopleText('employee_id,email,constructor\ne1,e1@company.com,x\n', 'csv');
    expect(header.records).toEqual([]);
    expect(header.errors).toEqual([expect.objectContaining({ row: 2, path: 'constructor' })]);
    const json = parsePeopleText('[{"employee_id":"e1","email":"e1@company.com"},{"employee_id":"e2","email":"e2@company.com","attributes":{"__proto__":{"x":1}}},{"employee_id":"e3","email":"e3@company.com","prototype":1}]', 'json');
    expect(json.records.map((r) => r.employee_id)).toEqual(['e1']);
    expect(json.errors).toEqual([expect.objectContaining({ row: 1, path: 'attributes.__proto__' }), expect.objectContaining({ row: 2, path: 'prototype' })]);
  });

  it('policy files: the same policy on an ordinary attribute is valid (the errors below are about the names)', () => {
    expect(parsePolicyText('p.yaml', 'name: p\ndescription: d\nowner: "@it"\nwhen:\n  attributes.badge: { exists: true }\ngrants: [okta:account]\n', DEFAULT_LEVELS).errors).toEqual([]);
  });

  it('policy files: a condition on attributes.__proto__ / constructor / prototype is an error, not a test that reads the prototype', () => {
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const result = parsePolicyText('p.yaml', `name: p\ndescription: d\nowner: "@it"\nwhen:\n  attributes.${name}: { exists: true }\ngrants: [okta:account]\n`, DEFAULT_LEVELS);
      expect(result.errors.map((e) => e.message).join('\n')).toContain(`attributes.${name}`);
    }
  });

  it('levels.yaml: a system or type named __proto__ / constructor / prototype is a positioned error, and pollutes nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-levels-'));
    try {
      for (const text of ['constructor:\n  group:\n    read: x\n', '__proto__:\n  group:\n    read: x\n', 'github:\n  prototype:\n    read: read\n', 'github:\n  __proto__:\n    read: read\n']) {
        await writeFile(join(dir, 'levels.yaml'), text);
        const { levels, errors } = await loadLevels(dir);
        expect({ text, errors: errors.length }).toEqual({ text, errors: 1 });
        expect(errors[0]!.line).toBeGreaterThan(0);
        expect(levels).toEqual(DEFAULT_LEVELS);
        expect(({} as Record<string, unknown>).group).toBeUndefined();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
