import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

function problems(env: Record<string, string>): { variable: string; message: string }[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('runs on a laptop with nothing set: every system sandboxed, Slack off, embedded Postgres', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.slack.itChannel).toBe('it-onboarding');
    expect(config.slack.driftChannel).toBe('it-onboarding');
    expect(config.systems.okta).toBe('sandbox');
    expect(config.systems.github).toBe('sandbox');
    expect(config.systems.manual).toBe('live');
  });

  it('in production, names each missing secret', () => {
    const found = problems({ NODE_ENV: 'production', ALLOW_SANDBOX: 'true' });
    expect(found.map((p) => p.variable).sort()).toEqual([
      'HRIS_WEBHOOK_SECRET',
      'SCIM_TOKEN',
      'SLACK_SIGNING_SECRET',
    ]);
    for (const p of found) expect(p.message).toMatch(/required when NODE_ENV=production/);
  });

  it('in production, reports only the secret that is missing', () => {
    const found = problems({
      NODE_ENV: 'production',
      ALLOW_SANDBOX: 'true',
      SLACK_SIGNING_SECRET: 's',
      SCIM_TOKEN: 't',
    });
    expect(found.map((p) => p.variable)).toEqual(['HRIS_WEBHOOK_SECRET']);
  });

  it('in production, refuses sandboxed adapters unless ALLOW_SANDBOX=true, naming them', () => {
    const secrets = {
      NODE_ENV: 'production',
      SLACK_SIGNING_SECRET: 's',
      HRIS_WEBHOOK_SECRET: 'h',
      SCIM_TOKEN: 't',
    };
    const found = problems(secrets);
    expect(found).toHaveLength(1);
    expect(found[0]!.variable).toBe('ALLOW_SANDBOX');
    expect(found[0]!.message).toContain('okta');
    expect(found[0]!.message).toContain('salesforce');
    expect(loadConfig({ ...secrets, ALLOW_SANDBOX: 'true' }).production).toBe(true);
  });

  it('in production, accepts a deployment whose managed systems all have credentials', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      SLACK_SIGNING_SECRET: 's',
      HRIS_WEBHOOK_SECRET: 'h',
      SCIM_TOKEN: 't',
      SYSTEMS: 'okta,github,manual',
      OKTA_ORG_URL: 'https://acme.okta.com',
      OKTA_TOKEN: 'x',
      GITHUB_TOKEN: 'g',
      GITHUB_ORG: 'acme',
    });
    expect(config.systems).toMatchObject({
      okta: 'live',
      github: 'live',
      manual: 'live',
      google: 'disabled',
      jira: 'disabled',
    });
  });

  it('reports a half-configured system by the variable that is missing', () => {
    const found = problems({ OKTA_ORG_URL: 'https://acme.okta.com' });
    expect(found).toEqual([
      { variable: 'OKTA_TOKEN', message: expect.stringContaining('okta is half configured') },
    ]);
  });

  it('reports every bad value at once, each by name', () => {
    const found = problems({
      PORT: 'eighty',
      DATABASE_URL: 'not a url',
      SYSTEMS: 'okta,myspace',
      LOG_LEVEL: 'loud',
    });
    expect(found.map((p) => p.variable).sort()).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'PORT', 'SYSTEMS']);
    expect(found.find((p) => p.variable === 'SYSTEMS')!.message).toContain('unknown system "myspace"');
  });

  it('explains a malformed SCIM_APPS value', () => {
    expect(problems({ SCIM_APPS: '{figma' })[0]).toEqual({
      variable: 'SCIM_APPS',
      message: expect.stringContaining('must be JSON'),
    });
    expect(
      problems({ SCIM_APPS: '{"figma":{"url":"nope","token":""}}' })
        .map((p) => p.message)
        .join(' '),
    ).toMatch(/figma\.url/);
    const config = loadConfig({
      SCIM_APPS: '{"figma":{"url":"https://www.figma.com/scim/v2/123","token":"t"}}',
    });
    expect(config.systems.scim).toBe('live');
  });

  it('requires an xapp- token and a bot token for Socket Mode', () => {
    const found = problems({ SLACK_APP_TOKEN: 'xoxb-wrong' });
    expect(found.map((p) => p.variable).sort()).toEqual(['SLACK_APP_TOKEN', 'SLACK_BOT_TOKEN']);
  });

  it('reads LEAVER_SLA, RATE_LIMITS and MANUAL_SYSTEMS, and names what is wrong with each', () => {
    const config = loadConfig({ LEAVER_SLA: '30m', RATE_LIMITS: 'github=80, scim:figma=30', MANUAL_SYSTEMS: 'salesforce' });
    expect(config.leaverSlaMs).toBe(30 * 60_000);
    expect(config.rateLimits).toEqual({ github: 80, 'scim:figma': 30 });
    expect(config.manualSystems).toEqual(['manual', 'salesforce']);
    expect(loadConfig({}).leaverSlaMs).toBe(15 * 60_000);
    expect(problems({ LEAVER_SLA: 'soon' })).toEqual([{ variable: 'LEAVER_SLA', message: 'must be a duration such as 15m' }]);
    expect(problems({ RATE_LIMITS: 'github:80' })[0]).toEqual({ variable: 'RATE_LIMITS', message: '"github:80" is not <system>=<requests per minute> (e.g. github=80,okta=600)' });
    expect(problems({ RATE_LIMITS: 'gitub=80' })[0]!.message).toMatch(/^unknown system "gitub"/);
    expect(problems({ MANUAL_SYSTEMS: 'sap' })[0]).toMatchObject({ variable: 'MANUAL_SYSTEMS', message: expect.stringMatching(/^unknown system "sap"; known: okta, google/) });
    expect(problems({ MANUAL_SYSTEMS: 'github', GITHUB_TOKEN: 'ghp_x', GITHUB_ORG: 'acme' })[0]!.message).toMatch(/github has credentials set/);
  });

  it('the error message names every variable and says what to do', () => {
    try {
      loadConfig({ NODE_ENV: 'production', ALLOW_SANDBOX: 'true' });
      expect.unreachable();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('SLACK_SIGNING_SECRET');
      expect(message).toContain('HRIS_WEBHOOK_SECRET');
      expect(message).toContain('SCIM_TOKEN');
      expect(message).toContain('README');
    }
  });
});
