import { readFileSync } from 'node:fs';
import { AWS_ENTITLEMENT_TYPES, createAwsAdapter } from '../../adapters/aws/index.js';
import { createGitHubAdapter, GITHUB_ENTITLEMENT_TYPES } from '../../adapters/github/index.js';
import { createGitLabAdapter, GITLAB_ENTITLEMENT_TYPES } from '../../adapters/gitlab/index.js';
import { createGoogleAdapter, GOOGLE_ENTITLEMENT_TYPES } from '../../adapters/google/index.js';
import { createJiraAdapter, JIRA_ENTITLEMENT_TYPES } from '../../adapters/jira/index.js';
import { createOktaAdapter, OKTA_ENTITLEMENT_TYPES } from '../../adapters/okta/index.js';
import { createSalesforceAdapter, SALESFORCE_ENTITLEMENT_TYPES } from '../../adapters/salesforce/index.js';
import { createSlackAdapter, SLACK_ENTITLEMENT_TYPES } from '../../adapters/slack/index.js';
import { createSandboxAdapter, type SqlClient } from '../../adapters/sandbox/index.js';
import { createScimAppAdapters, SCIM_ENTITLEMENT_TYPES } from '../../adapters/scim/index.js';
import type { Adapter, EntitlementType } from '../../adapters/types.js';
import type { Config, SystemName } from '../config.js';
import { assertNoDependencyCycle, DependencyCycleError } from '../plan/operation-graph.js';

/**
 * Systems provisioned from another: their accounts only exist once the IdP's does (AWS Identity
 * Center and Salesforce users arrive from Okta by SCIM).
 */
export const DEFAULT_DEPENDENCIES: Partial<Record<SystemName, SystemName[]>> = {
  aws: ['okta'],
  salesforce: ['okta'],
};

/** Systems whose account is the person's login: suspended first when they leave. */
export const IDENTITY_PROVIDERS: SystemName[] = ['okta', 'google'];

/**
 * What the live connectors accept, so the sandbox standing in for one refuses what the real
 * system would (a repository role GitHub does not have). Systems without a connector yet take
 * any well-formed entitlement.
 */
const LIVE_ENTITLEMENT_TYPES: Partial<Record<SystemName, EntitlementType[]>> = {
  okta: OKTA_ENTITLEMENT_TYPES,
  google: GOOGLE_ENTITLEMENT_TYPES,
  aws: AWS_ENTITLEMENT_TYPES,
  github: GITHUB_ENTITLEMENT_TYPES,
  gitlab: GITLAB_ENTITLEMENT_TYPES,
  slack: SLACK_ENTITLEMENT_TYPES,
  jira: JIRA_ENTITLEMENT_TYPES,
  salesforce: SALESFORCE_ENTITLEMENT_TYPES,
};

export class AdapterConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdapterConfigError';
  }
}

/** GOOGLE_SERVICE_ACCOUNT_KEY is the key's JSON, or a path to the file that holds it. */
function serviceAccountKey(value: string): string {
  if (value.trimStart().startsWith('{')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (error) {
    throw new AdapterConfigError(`GOOGLE_SERVICE_ACCOUNT_KEY is neither JSON nor a readable file (${(error as NodeJS.ErrnoException).code}): ${value}`);
  }
}

/**
 * Refuses system dependencies that form a cycle (no account could ever be made first), naming
 * the cycle and which system declared each step.
 */
export function refuseDependencyCycles(dependencies: Record<string, string[]>): void {
  try {
    assertNoDependencyCycle(dependencies);
  } catch (error) {
    if (!(error instanceof DependencyCycleError)) throw error;
    const steps = error.cycle.slice(0, -1).map((system, i) => `${system} depends on ${error.cycle[i + 1]}`);
    throw new AdapterConfigError(
      `the adapters' dependencies form a cycle, ${error.cycle.join(' → ')} (${steps.join(', ')}), so no account could be made first; break it by changing one adapter's dependsOn`,
    );
  }
}

export interface AdapterRegistry {
  /** The adapter of a system (`okta`, `scim:figma`), or an error naming the known systems. */
  get(system: string): Adapter;
  /** Systems provisioned through an adapter. */
  systems(): string[];
  /** Systems whose operations are tasks for people: `manual`, and those in MANUAL_SYSTEMS. */
  manualSystems(): string[];
  /** Whether Gatehouse manages this system at all (by adapter or by hand). */
  manages(system: string): boolean;
  /** system → systems whose account must exist first. */
  dependencies(): Record<string, string[]>;
}

/**
 * One adapter per managed system: the sandbox where there are no credentials. Live connectors
 * plug in here as they are built; until one exists for a system, configuring its credentials is
 * refused at start-up rather than silently sandboxed.
 */
export function createAdapterRegistry(config: Config, deps: { sql: SqlClient }): AdapterRegistry {
  const adapters = new Map<string, Adapter>();
  const dependencies: Record<string, string[]> = {};
  const manual = config.manualSystems ?? ['manual'];
  for (const [name, mode] of Object.entries(config.systems) as [SystemName, Config['systems'][SystemName]][]) {
    if (mode === 'disabled') continue;
    if (name === 'manual') {
      dependencies.manual = [];
      continue;
    }
    if (manual.includes(name)) {
      // Done by people, but still in order: a Salesforce user is made after the Okta one.
      dependencies[name] = (DEFAULT_DEPENDENCIES[name] ?? []).filter((d) => config.systems[d] !== 'disabled');
      continue;
    }
    if (mode === 'live' && name === 'okta') {
      adapters.set('okta', createOktaAdapter({ orgUrl: config.env.OKTA_ORG_URL!, token: config.env.OKTA_TOKEN! }));
      dependencies.okta = [];
      continue;
    }
    if (mode === 'live' && name === 'google') {
      adapters.set('google', createGoogleAdapter({ serviceAccountKey: serviceAccountKey(config.env.GOOGLE_SERVICE_ACCOUNT_KEY!), adminEmail: config.env.GOOGLE_ADMIN_EMAIL!, customer: config.env.GOOGLE_CUSTOMER_ID }));
      dependencies.google = [];
      continue;
    }
    if (mode === 'live' && name === 'aws') {
      const provisionUsers = config.env.AWS_PROVISION_USERS;
      const adapter = createAwsAdapter({ region: config.env.AWS_REGION!, instanceArn: config.env.AWS_SSO_INSTANCE_ARN!, identityStoreId: config.env.AWS_IDENTITY_STORE_ID!, provisionUsers });
      adapters.set('aws', adapter);
      dependencies.aws = adapter.describe().dependsOn.filter((d) => config.systems[d as SystemName] !== 'disabled');
      continue;
    }
    if (mode === 'live' && name === 'github') {
      adapters.set('github', createGitHubAdapter({ token: config.env.GITHUB_TOKEN!, org: config.env.GITHUB_ORG!, baseUrl: config.env.GITHUB_API_URL }));
      dependencies.github = [];
      continue;
    }
    if (mode === 'live' && name === 'gitlab') {
      adapters.set('gitlab', createGitLabAdapter({ url: config.env.GITLAB_URL, token: config.env.GITLAB_TOKEN!, group: config.env.GITLAB_GROUP }));
      dependencies.gitlab = [];
      continue;
    }
    if (mode === 'live' && name === 'slack') {
      adapters.set('slack', createSlackAdapter({ token: config.env.SLACK_PROVISIONING_TOKEN!, apiUrl: config.env.SLACK_API_URL, scimToken: config.env.SLACK_SCIM_TOKEN }));
      dependencies.slack = [];
      continue;
    }
    if (mode === 'live' && name === 'scim') {
      // One adapter per app of SCIM_APPS, each its own system scim:<app>.
      for (const adapter of createScimAppAdapters(config.env.SCIM_APPS!)) {
        adapters.set(adapter.system, adapter);
        dependencies[adapter.system] = [];
      }
      continue;
    }
    if (mode === 'live' && name === 'jira') {
      const adapter = createJiraAdapter({
        baseUrl: config.env.JIRA_BASE_URL!,
        email: config.env.JIRA_EMAIL!,
        apiToken: config.env.JIRA_API_TOKEN!,
        accessGroups: config.env.JIRA_ACCESS_GROUPS?.split(',').map((g) => g.trim()).filter(Boolean),
      });
      adapters.set('jira', adapter);
      dependencies.jira = adapter.describe().dependsOn.filter((d) => config.systems[d as SystemName] !== 'disabled');
      continue;
    }
    if (mode === 'live' && name === 'salesforce') {
      const adapter = createSalesforceAdapter({
        instanceUrl: config.env.SALESFORCE_INSTANCE_URL!,
        clientId: config.env.SALESFORCE_CLIENT_ID!,
        clientSecret: config.env.SALESFORCE_CLIENT_SECRET!,
        apiVersion: config.env.SALESFORCE_API_VERSION,
        defaultProfile: config.env.SALESFORCE_DEFAULT_PROFILE,
        usernameSuffix: config.env.SALESFORCE_USERNAME_SUFFIX,
        dependsOn: DEFAULT_DEPENDENCIES.salesforce,
      });
      adapters.set('salesforce', adapter);
      dependencies.salesforce = adapter.describe().dependsOn.filter((d) => config.systems[d as SystemName] !== 'disabled');
      continue;
    }
    if (mode === 'live') {
      throw new AdapterConfigError(
        `the live ${name} connector is not part of this build yet; unset its credentials to run ${name} in sandbox mode, or leave it out of SYSTEMS`,
      );
    }
    // Sandboxed SCIM has no app list (SCIM_APPS is what makes it live): any scim:<app> is made
    // on first use, below.
    if (name === 'scim') continue;
    const dependsOn = (DEFAULT_DEPENDENCIES[name] ?? []).filter((d) => config.systems[d] !== 'disabled');
    adapters.set(name, createSandboxAdapter({ system: name, sql: deps.sql, description: { dependsOn, entitlementTypes: LIVE_ENTITLEMENT_TYPES[name] } }));
    dependencies[name] = dependsOn;
  }
  refuseDependencyCycles(dependencies);
  return {
    get(system) {
      if (!adapters.has(system) && /^scim:[a-z][a-z0-9-]*$/.test(system) && config.systems.scim === 'sandbox') {
        adapters.set(system, createSandboxAdapter({ system, sql: deps.sql, description: { entitlementTypes: SCIM_ENTITLEMENT_TYPES } }));
        dependencies[system] = [];
      }
      const adapter = adapters.get(system);
      if (!adapter) throw new AdapterConfigError(`no adapter for system "${system}"; managed systems: ${[...adapters.keys()].sort().join(', ')}`);
      return adapter;
    },
    systems: () => [...adapters.keys()].sort(),
    manualSystems: () => [...manual].filter((s) => config.systems[s as SystemName] !== 'disabled').sort(),
    manages: (system) => adapters.has(system) || (manual.includes(system) && config.systems[system as SystemName] !== 'disabled') || (/^scim:[a-z][a-z0-9-]*$/.test(system) && config.systems.scim === 'sandbox'),
    dependencies: () => structuredClone(dependencies),
  };
}
