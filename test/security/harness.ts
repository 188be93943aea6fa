import { Writable } from 'node:stream';
import { afterAll, beforeAll } from 'vitest';
import { type Gatehouse, type StartOptions, startGatehouse } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { signHris } from '../../src/intake/hris-signature.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase } from '../helpers/database.js';
import { SlackApiFake } from '../helpers/slack-api-fake.js';
import { slackHeaders } from '../helpers/slack-signing.js';

/** Known secret values: the secrets test greps every log line for them. */
export const SECRETS = {
  HRIS_WEBHOOK_SECRET: 'whsec_SECURITY_hris_0123456789',
  SLACK_SIGNING_SECRET: 'slacksign_SECURITY_abcdef0123456789',
  SLACK_BOT_TOKEN: 'xoxb-SECURITY-1111-2222-bottoken',
  SCIM_TOKEN: 'scim_SECURITY_bearer_token_42',
  BAMBOOHR_WEBHOOK_SECRET: 'bamboo_SECURITY_private_key',
  AUDIT_KEY: 'auditkey_SECURITY_0123456789abcdef0123456789',
} as const;

/**
 * The running app for one security file: real HTTP, every secret set, Slack's Web API faked
 * (nock), and every log line kept (at debug) so a test can look for leaks.
 */
export function attackSurface(extra: Record<string, string> = {}, options: StartOptions = {}) {
  const state = { gatehouse: undefined as unknown as Gatehouse, slack: undefined as unknown as SlackApiFake, logs: [] as string[], base: '' };
  beforeAll(async () => {
    state.slack = new SlackApiFake()
      .addUser({ id: 'U0PRIYA', email: 'priya@company.com', name: 'priya' })
      .addUser({ id: 'U0LEE', email: 'lee@company.com', name: 'lee' })
      .addUser({ id: 'U0SEC', email: 'sec@company.com', name: 'sec' })
      .addUser({ id: 'U0EVE', email: 'eve@company.com', name: 'eve' })
      .addUsergroup('security-oncall', ['U0SEC'])
      .intercept();
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        state.logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const database = await createTestDatabase();
    state.gatehouse = await startGatehouse(loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', ...SECRETS, ...extra }), createLogger('debug', sink), options);
    state.base = `http://127.0.0.1:${state.gatehouse.port}`;
  });
  afterAll(async () => {
    await state.gatehouse?.stop();
    await state.slack?.stop();
  });
  return state;
}

export async function postHris(base: string, event: unknown, options: { secret?: string; at?: number } = {}): Promise<Response> {
  const body = JSON.stringify(event);
  return fetch(`${base}/hris/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'gatehouse-signature': signHris(options.secret ?? SECRETS.HRIS_WEBHOOK_SECRET, body, options.at) }, body });
}

export function hireEvent(id: string, data: Record<string, unknown> = {}, eventId = `evt_${id}`) {
  return { event_type: 'employee.hired', event_id: eventId, timestamp: '2026-11-20T09:00:00Z', data: { employee_id: id, email: `${id}@company.com`, first_name: 'Test', last_name: 'Person', ...data } };
}

export async function postSlack(base: string, body: string, contentType: string, options: { secret?: string; at?: number } = {}): Promise<Response> {
  return fetch(`${base}/slack/events`, { method: 'POST', headers: { 'content-type': contentType, ...slackHeaders(options.secret ?? SECRETS.SLACK_SIGNING_SECRET, body, options.at) }, body });
}

export { until } from '../helpers/until.js';
