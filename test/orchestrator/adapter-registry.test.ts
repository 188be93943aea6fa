import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { AdapterConfigError, createAdapterRegistry, refuseDependencyCycles } from '../../src/orchestrator/adapter-registry.js';
import { createMigratedDatabase } from '../helpers/database.js';
import { run } from '../helpers/process.js';

describe('adapter registry', () => {
  it('sandboxes every system without credentials, one system per SCIM app, with dependencies', async () => {
    const { handle } = await createMigratedDatabase();
    const registry = createAdapterRegistry(loadConfig({}), { sql: handle.pool });
    expect(registry.systems()).toEqual(['aws', 'github', 'gitlab', 'google', 'jira', 'okta', 'salesforce', 'slack']);
    // Any SCIM app is sandboxed on first use.
    expect(registry.get('scim:figma').system).toBe('scim:figma');
    expect(registry.systems()).toContain('scim:figma');
    expect(registry.get('okta').describe().mode).toBe('sandbox');
    expect(registry.dependencies()).toMatchObject({ aws: ['okta'], salesforce: ['okta'], okta: [] });
    expect(() => registry.get('myspace')).toThrow(/no adapter for system "myspace"; managed systems: aws, github/);
  });

  it('a sandbox standing in for a live connector refuses what the real system would', async () => {
    const { handle } = await createMigratedDatabase();
    const registry = createAdapterRegistry(loadConfig({}), { sql: handle.pool });
    expect(() => registry.get('github').parseEntitlement('github:repo:acme/api#writer')).toThrow('"writer" is not a github repo level; the levels are read, triage, write, maintain, admin');
    expect(() => registry.get('okta').parseEntitlement('okta:app:salesforce')).toThrow('okta has no type "app"; it has group');
    expect(registry.get('aws').parseEntitlement('aws:account-assignment:111111111111#PowerUserAccess').level).toBe('PowerUserAccess');
    // No connector yet: any well-formed entitlement.
    expect(registry.get('slack').parseEntitlement('slack:channel:sales-team').resource).toBe('sales-team');
  });

  it('refuses dependencies that form a cycle, naming it', () => {
    expect(() => refuseDependencyCycles({ aws: ['okta'], okta: ['google'], google: ['aws'] })).toThrow(AdapterConfigError);
    expect(() => refuseDependencyCycles({ aws: ['okta'], okta: ['google'], google: ['aws'] })).toThrow(
      "the adapters' dependencies form a cycle, aws → okta → google → aws (aws depends on okta, okta depends on google, google depends on aws), so no account could be made first",
    );
    expect(() => refuseDependencyCycles({ aws: ['okta'], salesforce: ['okta'], okta: [] })).not.toThrow();
  });

  it('drops dependencies on systems left out of SYSTEMS', async () => {
    const { handle } = await createMigratedDatabase();
    const registry = createAdapterRegistry(loadConfig({ SYSTEMS: 'aws,github' }), { sql: handle.pool });
    expect(registry.dependencies()).toEqual({ aws: [], github: [] });
  });

  it('builds the live Okta connector when its credentials are set', async () => {
    const { handle } = await createMigratedDatabase();
    const registry = createAdapterRegistry(loadConfig({ OKTA_ORG_URL: 'https://acme.okta.com', OKTA_TOKEN: 't' }), { sql: handle.pool });
    expect(registry.get('okta').describe()).toMatchObject({ mode: 'live', displayName: 'Okta' });
    expect(registry.get('github').describe().mode).toBe('sandbox');
  });

  it('builds the live Google connector, reading the key from JSON or a file, and names a bad key', async () => {
    const { handle } = await createMigratedDatabase();
    const key = JSON.stringify({ client_email: 'sa@x.iam.gserviceaccount.com', private_key: 'k' });
    const registry = createAdapterRegistry(loadConfig({ GOOGLE_SERVICE_ACCOUNT_KEY: key, GOOGLE_ADMIN_EMAIL: 'admin@company.com' }), { sql: handle.pool });
    expect(registry.get('google').describe()).toMatchObject({ mode: 'live', displayName: 'Google Workspace' });
    expect(() => createAdapterRegistry(loadConfig({ GOOGLE_SERVICE_ACCOUNT_KEY: '/nope/key.json', GOOGLE_ADMIN_EMAIL: 'a@b.co' }), { sql: handle.pool })).toThrow(/GOOGLE_SERVICE_ACCOUNT_KEY is neither JSON nor a readable file \(ENOENT\)/);
  });

  it('builds the live AWS connector, depending on Okta unless it provisions users itself', async () => {
    const { handle } = await createMigratedDatabase();
    const aws = { AWS_REGION: 'us-east-1', AWS_SSO_INSTANCE_ARN: 'arn:aws:sso:::instance/ssoins-1', AWS_IDENTITY_STORE_ID: 'd-1234567890' };
    expect(createAdapterRegistry(loadConfig(aws), { sql: handle.pool }).dependencies().aws).toEqual(['okta']);
    const own = createAdapterRegistry(loadConfig({ ...aws, AWS_PROVISION_USERS: 'true' }), { sql: handle.pool });
    expect(own.get('aws').describe()).toMatchObject({ mode: 'live', dependsOn: [] });
  });

  it('builds every live connector when its credentials are set', async () => {
    const { handle } = await createMigratedDatabase();
    const salesforce = createAdapterRegistry(loadConfig({ SALESFORCE_INSTANCE_URL: 'https://acme.my.salesforce.com', SALESFORCE_CLIENT_ID: 'id', SALESFORCE_CLIENT_SECRET: 'secret' }), { sql: handle.pool });
    expect(salesforce.get('salesforce').describe()).toMatchObject({ mode: 'live', system: 'salesforce', dependsOn: ['okta'] });
    expect(salesforce.dependencies().salesforce).toEqual(['okta']);
    const github = createAdapterRegistry(loadConfig({ GITHUB_TOKEN: 'ghp_x', GITHUB_ORG: 'acme' }), { sql: handle.pool });
    expect(github.get('github').describe()).toMatchObject({ mode: 'live', displayName: 'GitHub (acme)' });
    const gitlab = createAdapterRegistry(loadConfig({ GITLAB_TOKEN: 'glpat-x', GITLAB_URL: 'https://gitlab.acme.dev' }), { sql: handle.pool });
    expect(gitlab.get('gitlab').describe()).toMatchObject({ mode: 'live', system: 'gitlab' });
    // The ChatOps bot token alone does not make Slack a live target; the provisioning token does.
    const bot = createAdapterRegistry(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-bot' }), { sql: handle.pool });
    expect(bot.get('slack').describe().mode).toBe('sandbox');
    const slack = createAdapterRegistry(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-bot', SLACK_PROVISIONING_TOKEN: 'xoxb-bot' }), { sql: handle.pool });
    expect(slack.get('slack').describe()).toMatchObject({ mode: 'live', system: 'slack' });
    const jira = createAdapterRegistry(loadConfig({ JIRA_BASE_URL: 'https://acme.atlassian.net', JIRA_EMAIL: 'a@b.co', JIRA_API_TOKEN: 't' }), { sql: handle.pool });
    expect(jira.get('jira').describe()).toMatchObject({ mode: 'live', system: 'jira' });
  });

  it('builds one live SCIM connector per app of SCIM_APPS', async () => {
    const { handle } = await createMigratedDatabase();
    const apps = { figma: { url: 'https://www.figma.com/scim/v2/tenant', token: 'a' }, notion: { url: 'https://api.notion.com/scim/v2', token: 'b', requestsPerMinute: 30 } };
    const registry = createAdapterRegistry(loadConfig({ SCIM_APPS: JSON.stringify(apps) }), { sql: handle.pool });
    expect(registry.get('scim:figma').describe()).toMatchObject({ mode: 'live', system: 'scim:figma' });
    expect(registry.get('scim:notion').describe()).toMatchObject({ mode: 'live', defaultRateLimit: { requestsPerMinute: 30 } });
    expect(registry.dependencies()).toMatchObject({ 'scim:figma': [], 'scim:notion': [] });
    expect(() => registry.get('scim:zoom')).toThrow(/no adapter for system "scim:zoom"/);
  });

  it('manages MANUAL_SYSTEMS without an adapter, keeping their order; manual is always by hand', async () => {
    const { handle } = await createMigratedDatabase();
    const registry = createAdapterRegistry(loadConfig({ MANUAL_SYSTEMS: 'salesforce' }), { sql: handle.pool });
    expect(registry.manualSystems()).toEqual(['manual', 'salesforce']);
    expect(registry.systems()).not.toContain('salesforce');
    expect(registry.manages('salesforce')).toBe(true);
    expect(registry.manages('manual')).toBe(true);
    expect(registry.dependencies().salesforce).toEqual(['okta']);
    expect(() => registry.get('salesforce')).toThrow(/no adapter for system "salesforce"/);
    const none = createAdapterRegistry(loadConfig({ SYSTEMS: 'okta' }), { sql: handle.pool });
    expect(none.manualSystems()).toEqual([]);
    expect(none.manages('manual')).toBe(false);
  });
});

describe('gatehouse sandbox grant|revoke (the command)', () => {
  it('changes a sandboxed system as an admin would, idempotently, and refuses bad entitlements', async () => {
    const database = await createMigratedDatabase();
    const env = { DATABASE_URL: database.url };
    const gatehouse = (...args: string[]) => run('node', ['bin/gatehouse.js', 'sandbox', ...args], env);
    const granted = await gatehouse('grant', 'bob@company.com', 'github:repo:acme/secrets#admin');
    expect(granted).toMatchObject({ code: 0, output: expect.stringContaining('grant github:repo:acme/secrets#admin for bob@company.com in sandboxed github: applied') });
    expect((await gatehouse('grant', 'bob@company.com', 'github:repo:acme/secrets#admin')).output).toContain('already present');
    const { rows } = await database.handle.pool.query("select entitlement from sandbox_grants where system = 'github'");
    expect(rows).toEqual([{ entitlement: 'github:repo:acme/secrets#admin' }]);
    expect((await gatehouse('revoke', 'bob@company.com', 'github:repo:acme/secrets#admin')).output).toContain(': applied');
    expect((await gatehouse('revoke', 'nobody@company.com', 'github:repo:acme/secrets#admin')).output).toContain('has no github account');
  });

  it('makes, suspends and re-enables an account with <system>:account', async () => {
    const database = await createMigratedDatabase();
    const gatehouse = (...args: string[]) => run('node', ['bin/gatehouse.js', 'sandbox', ...args], { DATABASE_URL: database.url });
    expect((await gatehouse('grant', 'ann@company.com', 'okta:account')).output).toContain('grant okta:account for ann@company.com in sandboxed okta: applied');
    expect((await gatehouse('grant', 'ann@company.com', 'okta:account')).output).toContain(': already present');
    expect((await gatehouse('revoke', 'ann@company.com', 'okta:account')).output).toContain('revoke okta:account for ann@company.com in sandboxed okta: applied');
    const { rows } = await database.handle.pool.query("select status from sandbox_accounts where system = 'okta' and email = 'ann@company.com'");
    expect(rows).toEqual([{ status: 'suspended' }]);
    expect((await gatehouse('grant', 'ann@company.com', 'okta:account')).output).toContain(': applied');
  });

  it('refuses bad input with what is wrong, and changes nothing', async () => {
    const database = await createMigratedDatabase();
    const gatehouse = (env: Record<string, string>, ...args: string[]) => run('node', ['bin/gatehouse.js', 'sandbox', ...args], { DATABASE_URL: database.url, ...env });
    const cases: [Record<string, string>, string[], number, string][] = [
      [{}, ['grant', 'bob@company.com', 'github:Repo Name'], 1, 'github has no type "Repo Name"'],
      [{}, ['grant', 'bob@company.com', 'github:repo:acme/api#writer'], 1, '"writer" is not a github repo level (did you mean "write"?)'],
      [{}, ['grant', 'bob@company.com', 'gihtub:repo:acme/api#write'], 1, 'unknown system "gihtub" (did you mean "github"?)'],
      [{}, ['grant', 'not-an-email', 'github:repo:acme/api#write'], 2, '"not-an-email" is not an email address'],
      [{ GITHUB_TOKEN: 'ghp_x', GITHUB_ORG: 'acme' }, ['grant', 'bob@company.com', 'github:repo:acme/api#write'], 1, 'github is live, not sandboxed: Gatehouse manages the real github, so make this change in github itself'],
      [{ SYSTEMS: 'okta' }, ['grant', 'bob@company.com', 'github:repo:acme/api#write'], 1, 'github is not managed here (SYSTEMS leaves it out)'],
      [{}, ['grant', 'bob@company.com', 'manual:laptop:macbook-pro-14'], 1, 'is a manual task'],
    ];
    // Seven processes: side by side, as each is refused before it changes anything.
    const results = await Promise.all(cases.map(([env, args]) => gatehouse(env, ...args)));
    for (const [i, [, args, code, message]] of cases.entries()) {
      expect({ args, code: results[i]!.code, output: results[i]!.output }).toMatchObject({ code, output: expect.stringContaining(message) });
    }
    const { rows } = await database.handle.pool.query('select count(*)::int as n from sandbox_accounts');
    expect(rows).toEqual([{ n: 0 }]);
  }, 90_000);
});
