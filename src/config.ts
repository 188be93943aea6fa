import { z } from 'zod';
import { personRecordSchema } from './people/person-record.js';
import { canonicalTimeZone } from './policy/calendar-day.js';
import { locationKey, type TimeZoneSettings } from './policy/time-zone.js';

/**
 * Every target system Gatehouse can provision, and the environment variables that make it live.
 * A system whose variables are all unset runs in sandbox mode (its state kept in Postgres); one
 * with only some of them set is a configuration error, because that is almost always a typo.
 */
export const SYSTEM_CREDENTIALS = {
  okta: ['OKTA_ORG_URL', 'OKTA_TOKEN'],
  google: ['GOOGLE_SERVICE_ACCOUNT_KEY', 'GOOGLE_ADMIN_EMAIL'],
  aws: ['AWS_REGION', 'AWS_SSO_INSTANCE_ARN', 'AWS_IDENTITY_STORE_ID'],
  github: ['GITHUB_TOKEN', 'GITHUB_ORG'],
  gitlab: ['GITLAB_TOKEN'],
  slack: ['SLACK_PROVISIONING_TOKEN'],
  salesforce: ['SALESFORCE_INSTANCE_URL', 'SALESFORCE_CLIENT_ID', 'SALESFORCE_CLIENT_SECRET'],
  jira: ['JIRA_BASE_URL', 'JIRA_EMAIL', 'JIRA_API_TOKEN'],
  scim: ['SCIM_APPS'],
  manual: [],
} as const satisfies Record<string, readonly string[]>;

export type SystemName = keyof typeof SYSTEM_CREDENTIALS;
export const SYSTEM_NAMES = Object.keys(SYSTEM_CREDENTIALS) as SystemName[];

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const url = (what: string) =>
  z
    .string()
    .trim()
    .transform((v) => (v === '' ? undefined : v))
    .optional()
    .refine((v) => v === undefined || URL.canParse(v), { message: `must be a URL (${what})` });

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const scimApps = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined || raw.trim() === '') return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: 'must be JSON: {"figma":{"url":"https://…/scim/v2","token":"…"}}',
      });
      return z.NEVER;
    }
    const apps = z
      .record(
        z.string().regex(/^[a-z][a-z0-9-]*$/, 'app names are lower-case letters, digits and dashes'),
        z.object({ url: z.url(), token: z.string().min(1), requestsPerMinute: z.number().int().positive().optional(), timeoutMs: z.number().int().positive().optional(), displayName: z.string().optional() }),
      )
      .safeParse(parsed);
    if (!apps.success) {
      for (const issue of apps.error.issues) {
        ctx.addIssue({ code: 'custom', message: `${issue.path.join('.') || '(root)'}: ${issue.message}` });
      }
      return z.NEVER;
    }
    return apps.data;
  });

const duration = (example: string) =>
  z.string().regex(/^\d+(s|m|h|d)$/, `must be a duration such as ${example}`);

const DURATION_UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** `15m` → 900000. Only for values the schema above has checked. */
export function durationToMs(value: string): number {
  return Number.parseInt(value, 10) * DURATION_UNIT_MS[value.slice(-1) as keyof typeof DURATION_UNIT_MS];
}

/** `github=80,okta=600,scim:figma=30`: requests per minute per system, over the adapters' defaults. */
const rateLimits = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    const out: Record<string, number> = {};
    if (raw === undefined || raw.trim() === '') return out;
    for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
      const match = /^([a-z][a-z0-9-]*(?::[a-z][a-z0-9-]*)?)=(\d+(?:\.\d+)?)$/.exec(part);
      if (!match || Number(match[2]) <= 0) {
        ctx.addIssue({ code: 'custom', message: `"${part}" is not <system>=<requests per minute> (e.g. github=80,okta=600)` });
        continue;
      }
      out[match[1]!] = Number(match[2]);
    }
    return out;
  });

/**
 * SYSTEM_OWNERS: `github=@github-admins,github=U024BE7LH,okta=@okta-admins`. Who, beside IT_ADMINS,
 * may decide a system's drift items and mark its manual tasks done. A system named twice gets
 * every owner listed; `scim=` covers every SCIM app, `scim:figma=` one of them.
 */
const systemOwners = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    const out: Record<string, string[]> = {};
    if (raw === undefined || raw.trim() === '') return out;
    for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
      const match = /^([a-z][a-z0-9-]*(?::[a-z][a-z0-9-]*)?)=(@[a-z0-9][a-z0-9._-]*|[UW][A-Z0-9]{2,})$/.exec(part);
      if (!match) {
        ctx.addIssue({ code: 'custom', message: `"${part}" is not <system>=<@slack-user-group or Slack user id> (e.g. github=@github-admins,okta=U024BE7LH)` });
        continue;
      }
      (out[match[1]!] ??= []).push(match[2]!);
    }
    return out;
  });

const NOT_A_ZONE = 'is not an IANA time zone; use a name such as Australia/Sydney, America/New_York or UTC';

/** DEFAULT_TIME_ZONE: one IANA zone, in the zone database's spelling. */
const defaultTimeZone = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined || raw.trim() === '') return 'UTC';
    const zone = canonicalTimeZone(raw.trim());
    if (zone) return zone;
    ctx.addIssue({ code: 'custom', message: `"${raw.trim()}" ${NOT_A_ZONE}` });
    return z.NEVER;
  });

/**
 * LOCATION_TIME_ZONES: `{"Sydney":"Australia/Sydney","San Francisco":"America/Los_Angeles"}`. JSON
 * rather than `a=b,c=d` because HRIS locations contain commas ("Portland, OR"). Every zone is
 * checked here, so a typo stops start-up instead of silently counting someone's days in UTC.
 */
const locationTimeZones = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    const out = new Map<string, string>();
    if (raw === undefined || raw.trim() === '') return out;
    let parsed: Record<string, string>;
    try {
      parsed = z.record(z.string(), z.string()).parse(JSON.parse(raw));
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object of location (as the HRIS writes it) → IANA time zone, e.g. {"Sydney":"Australia/Sydney","San Francisco":"America/Los_Angeles"}' });
      return z.NEVER;
    }
    for (const [location, value] of Object.entries(parsed)) {
      const zone = canonicalTimeZone(value.trim());
      const key = locationKey(location);
      if (!zone) ctx.addIssue({ code: 'custom', message: `"${location}": "${value}" ${NOT_A_ZONE}` });
      else if (key === '') ctx.addIssue({ code: 'custom', message: 'a location name must not be empty' });
      // Locations match case-insensitively, so two spellings of one place must agree.
      else if (out.has(key) && out.get(key) !== zone) ctx.addIssue({ code: 'custom', message: `"${location}" is listed twice (locations match ignoring case), with different zones` });
      else out.set(key, zone);
    }
    return out;
  });

/**
 * PUBLIC_URL: an absolute http(s) URL, perhaps with a path prefix behind a proxy
 * (https://acme.com/gatehouse), kept without its trailing slash. Links handed to an IdP must not
 * carry anything a request could steer, so a query, fragment or credentials are refused too.
 */
const publicUrl = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined || raw.trim() === '') return undefined;
    let url: URL | undefined;
    try {
      url = new URL(raw.trim());
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || !url.host) {
      ctx.addIssue({ code: 'custom', message: `"${raw}" is not an absolute http(s) URL; use the address Gatehouse is reached at, e.g. https://gatehouse.acme.com` });
      return z.NEVER;
    }
    if (url.search || url.hash || url.username || url.password || raw.includes('#') || raw.includes('?')) {
      ctx.addIssue({ code: 'custom', message: 'must not carry a query, a fragment or credentials: only scheme, host, port and an optional path prefix' });
      return z.NEVER;
    }
    return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
  });

/** The environment, as Gatehouse reads it. Each field says what it is for; the README lists them all. */
export const envSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'production', 'test'])
    .default('development')
    .describe('production makes the secrets below mandatory and refuses sandboxed adapters'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('HTTP port (0 picks a free one)'),
  HOST: z.string().default('0.0.0.0').describe('interface to listen on'),
  PUBLIC_URL: publicUrl.describe('the URL Gatehouse is reached at (https://gatehouse.acme.com): SCIM links (meta.location, Location) are built from it, never from the request\'s Host header; unset: http://<HOST>:<port> it listens on'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: url('postgres://user:pass@host:5432/db').describe(
    'Postgres connection string; unset starts embedded Postgres under GATEHOUSE_DATA_DIR',
  ),
  DATABASE_WAIT: duration('60s').default('60s').describe('how long serve keeps trying an unreachable database at start-up before it gives up (0s: at once)'),
  GATEHOUSE_DATA_DIR: z
    .string()
    .default('.gatehouse')
    .describe('where embedded Postgres keeps its data and credentials (as root, a new cluster goes under EMBEDDED_PG_SYSTEM_DIR instead when the postgres OS user cannot enter this folder)'),
  EMBEDDED_PG_SYSTEM_DIR: z
    .string()
    .default('/var/lib/gatehouse')
    .describe('as root only: a folder the postgres OS user can pass through, for a copy of the Postgres binaries and the data of a GATEHOUSE_DATA_DIR that user cannot enter'),
  EMBEDDED_PG_PORT: z.coerce
    .number()
    .int()
    .min(1)
    .max(65535)
    .default(54329)
    .describe('port of embedded Postgres'),
  SLACK_BOT_TOKEN: optionalString.describe('xoxb- token; unset sends Slack messages to the log'),
  SLACK_SIGNING_SECRET: optionalString.describe(
    'verifies requests from Slack (Basic Information → App Credentials)',
  ),
  SLACK_APP_TOKEN: optionalString.describe('xapp- token; set to use Socket Mode instead of HTTP'),
  SLACK_API_URL: url('https://slack.com/api/').describe('Slack Web API base URL (GovSlack, or a local fake)'),
  HRIS_WEBHOOK_SECRET: optionalString.describe('HMAC secret shared with the HRIS webhook sender'),
  BAMBOOHR_WEBHOOK_SECRET: optionalString.describe('the BambooHR webhook\'s private key (Account Settings → Webhooks → Private Key)'),
  BAMBOOHR_FIELD_MAP: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return undefined;
      let parsed: Record<string, string>;
      try {
        parsed = z.record(z.string(), z.string()).parse(JSON.parse(raw));
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object of person field → BambooHR field name, e.g. {"email":"Work Email","attributes.badge":"Badge #"}' });
        return z.NEVER;
      }
      const fields = Object.keys(personRecordSchema.shape).filter((f) => f !== 'attributes' && f !== 'groups');
      for (const key of Object.keys(parsed)) {
        if (!fields.includes(key) && !/^attributes\.[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(key)) {
          ctx.addIssue({ code: 'custom', message: `"${key}" is not a person field; use one of ${fields.join(', ')}, or attributes.<name>` });
        }
      }
      return parsed;
    })
    .describe('JSON overrides of the BambooHR field mapping: person field (or attributes.<name>) → BambooHR field name; "" unmaps a default'),
  SCIM_TOKEN: optionalString.describe('bearer token the SCIM client (Okta, Entra ID) must present'),
  POLICIES_DIR: z.string().default('policies').describe('folder of policy YAML files'),
  DEFAULT_TIME_ZONE: defaultTimeZone.describe('IANA time zone in which the dates of a person whose record has no time_zone and whose location is not in LOCATION_TIME_ZONES are counted (end_date ends at midnight there)'),
  LOCATION_TIME_ZONES: locationTimeZones.describe('JSON map of HRIS location → IANA time zone, e.g. {"Sydney":"Australia/Sydney"}, for people whose record has no time_zone'),
  JOINER_LEAD_TIME: z
    .string()
    .regex(/^\d+(m|h|d)$/, 'must be a duration such as 12h or 1d')
    .default('1d')
    .describe('how long before a future start date a joiner is provisioned'),
  LEAVER_SLA: duration('15m').default('15m').describe('how long a termination may take to be fully verified before the IT channel is alerted'),
  HR_EVENT_MAX_FUTURE: duration('24h')
    .default('24h')
    .describe('how far ahead of now an HRIS or BambooHR event\'s timestamp may be; a later one is refused (400 naming the field), so one event dated years ahead cannot make every later change look stale'),
  RATE_LIMITS: rateLimits.describe('requests per minute per system over the adapters\' published defaults, e.g. github=80,okta=600'),
  MANUAL_SYSTEMS: z
    .string()
    .optional()
    .transform((raw) => (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean))
    .describe('systems handled by people, not an API: their operations become tasks in the IT channel (e.g. salesforce)'),
  APPROVAL_REMINDER: duration('4h').default('4h').describe('how long an approval may wait before its approver is reminded (and the next approver of an "any" step asked too)'),
  APPROVAL_TIMEOUT: duration('3d').default('3d').describe('how long a request may wait for a decision before it times out'),
  APPROVAL_DISTINCT_APPROVERS: z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((v) => !(v === 'false' || v === '0' || v === 'no'))
    .describe('each approval step needs someone who approved no earlier step of the request (default true; false lets one person approve every step they are named in)'),
  DRIFT_SCHEDULE: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      // "0 * * * *" for every system, or per system: "0 * * * *; github=0 */6 * * *; okta=*/30 * * * *".
      const out: Record<string, string> = { '*': '0 * * * *' };
      for (const part of (raw ?? '').split(';').map((p) => p.trim()).filter(Boolean)) {
        const match = /^(?:([a-z][a-z0-9-]*(?::[a-z][a-z0-9-]*)?)\s*=\s*)?(.+)$/.exec(part)!;
        const cron = match[2]!.trim();
        if (cron !== 'off' && cron.split(/\s+/).length !== 5) {
          ctx.addIssue({ code: 'custom', message: `"${part}" is not a cron expression of 5 fields (e.g. "0 * * * *"), "off", or <system>=<cron>` });
          continue;
        }
        out[match[1] ?? '*'] = cron;
      }
      return out;
    })
    .describe('when drift scans run: a cron for every system, and/or <system>=<cron> (or off), separated by ";"; default hourly'),
  AUDIT_KEY: optionalString
    .refine((v) => v === undefined || v.length >= 32, { message: 'must be at least 32 characters (e.g. the output of openssl rand -hex 32)' })
    .describe('secret key that signs every audit row and anchor (HMAC-SHA256), so the chain cannot be recomputed without it; never logged. Once rows are signed, every process that writes the audit log needs it'),
  AUDIT_ANCHOR_SCHEDULE: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const cron = raw === undefined || raw.trim() === '' ? '0 6 * * *' : raw.trim();
      if (cron !== 'off' && cron.split(/\s+/).length !== 5) {
        ctx.addIssue({ code: 'custom', message: `"${cron}" is not a cron expression of 5 fields (e.g. "0 6 * * *") or "off"` });
        return z.NEVER;
      }
      return cron;
    })
    .describe('when serve posts the head of the audit chain (an anchor) to IT_CHANNEL and records it: a cron, or off; default daily at 06:00 UTC'),
  IT_ADMINS: z
    .string()
    .optional()
    .transform((raw) => (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean))
    .describe('Slack user ids and @user-groups who are IT: they may see anyone\'s history with /access audit, decide any drift item and mark any manual task done'),
  SYSTEM_OWNERS: systemOwners.describe('owners of each system, beside IT_ADMINS, who may decide its drift items and mark its manual tasks done: <system>=<@user-group or user id>, comma-separated, e.g. github=@github-admins,okta=@okta-admins'),
  IT_CHANNEL: z.string().default('it-onboarding').describe('channel for onboarding summaries'),
  DRIFT_CHANNEL: optionalString.describe('channel for drift alerts (default: IT_CHANNEL)'),
  ALLOW_SANDBOX: bool.describe('allow sandboxed adapters when NODE_ENV=production'),
  SYSTEMS: z
    .string()
    .optional()
    .describe('comma-separated systems to manage (default: all)')
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return [...SYSTEM_NAMES];
      const names = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const name of names) {
        if (!(SYSTEM_NAMES as string[]).includes(name)) {
          ctx.addIssue({
            code: 'custom',
            message: `unknown system "${name}"; known: ${SYSTEM_NAMES.join(', ')}`,
          });
        }
      }
      return names as SystemName[];
    }),
  OKTA_ORG_URL: url('https://acme.okta.com'),
  OKTA_TOKEN: optionalString,
  GOOGLE_SERVICE_ACCOUNT_KEY: optionalString.describe('service account key JSON, or a path to it'),
  GOOGLE_ADMIN_EMAIL: optionalString.describe(
    'admin the service account impersonates (domain-wide delegation)',
  ),
  GOOGLE_CUSTOMER_ID: z.string().default('my_customer'),
  AWS_REGION: optionalString,
  AWS_SSO_INSTANCE_ARN: optionalString,
  AWS_IDENTITY_STORE_ID: optionalString,
  AWS_PROVISION_USERS: bool.describe('Gatehouse creates Identity Center users itself (no SCIM from the IdP)'),
  GITHUB_TOKEN: optionalString,
  GITHUB_ORG: optionalString.describe('the organization whose membership is a person\'s GitHub account'),
  GITHUB_API_URL: url('https://api.github.com'),
  SLACK_PROVISIONING_TOKEN: optionalString.describe('bot token (xoxb-, often the same as SLACK_BOT_TOKEN) with which Gatehouse manages Slack channels and user groups as a target system; unset, Slack is sandboxed'),
  SLACK_SCIM_TOKEN: optionalString.describe('an Owner\'s or Admin\'s user token (xoxp-, admin scope) for Slack\'s SCIM API: creates, reactivates and deactivates members (Business+ / Enterprise Grid)'),
  GITLAB_URL: url('https://gitlab.com'),
  GITLAB_TOKEN: optionalString,
  GITLAB_GROUP: optionalString.describe('top-level group whose members are the company\'s GitLab accounts (GitLab.com; self-managed lists all users)'),
  SALESFORCE_INSTANCE_URL: url('https://acme.my.salesforce.com'),
  SALESFORCE_CLIENT_ID: optionalString,
  SALESFORCE_CLIENT_SECRET: optionalString,
  SALESFORCE_API_VERSION: optionalString.describe('REST API version (default 62.0)'),
  SALESFORCE_DEFAULT_PROFILE: optionalString.describe('profile for new users and for a revoked profile (default Standard User)'),
  SALESFORCE_USERNAME_SUFFIX: optionalString.describe('appended to the email to make a Username unique across Salesforce orgs (e.g. .dev in a sandbox org)'),
  JIRA_BASE_URL: url('https://acme.atlassian.net'),
  JIRA_EMAIL: optionalString,
  JIRA_API_TOKEN: optionalString,
  JIRA_ACCESS_GROUPS: optionalString.describe('comma-separated groups that give Jira product access (default jira-software-users): a new account joins them, a leaver is removed from them'),
  SCIM_APPS: scimApps.describe('JSON map of SCIM 2.0 apps: {"figma":{"url":…,"token":…}}'),
});

export type Env = z.output<typeof envSchema>;

export interface Config {
  env: Env;
  production: boolean;
  port: number;
  host: string;
  /** PUBLIC_URL without a trailing slash; undefined: the address `serve` listens on. */
  publicUrl: string | undefined;
  logLevel: Env['LOG_LEVEL'];
  databaseUrl: string | undefined;
  /** How long `serve` retries a database it cannot reach at start-up. */
  databaseWaitMs: number;
  dataDir: string;
  embeddedPgSystemDir: string;
  embeddedPgPort: number;
  slack: {
    botToken: string | undefined;
    signingSecret: string | undefined;
    appToken: string | undefined;
    apiUrl: string | undefined;
    itChannel: string;
    driftChannel: string;
  };
  hrisWebhookSecret: string | undefined;
  bamboo: { key: string | undefined; fieldMap: Record<string, string> | undefined };
  scimToken: string | undefined;
  policiesDir: string;
  joinerLeadTimeMs: number;
  /** How far ahead of now an HR webhook event may be dated (HR_EVENT_MAX_FUTURE). */
  hrEventMaxFutureMs: number;
  /** Where people's dates are counted when their record names no time_zone. */
  timeZones: TimeZoneSettings;
  leaverSlaMs: number;
  approvalReminderMs: number;
  approvalTimeoutMs: number;
  /** Each approval step needs a person who approved no earlier step of the request. */
  approvalDistinctApprovers: boolean;
  /** Slack user ids and @groups who are IT: /access audit, every drift decision and manual task. */
  itAdmins: string[];
  /** system → Slack user ids and @groups who may decide its drift items and manual tasks (beside IT). */
  systemOwners: Record<string, string[]>;
  /** system (or '*') → cron, or 'off'. */
  driftSchedule: Record<string, string>;
  /** AUDIT_KEY: signs audit rows and anchors. A secret: never log it. */
  auditKey: string | undefined;
  /** Cron of the audit anchor posted to the IT channel, or 'off'. */
  auditAnchorSchedule: string;
  /** requests/minute per system, overriding the adapters' defaults. */
  rateLimits: Record<string, number>;
  /** Systems whose operations are tasks for people (always includes `manual`). */
  manualSystems: string[];
  allowSandbox: boolean;
  /** Systems Gatehouse manages, each live (credentials set) or sandboxed. */
  systems: Record<SystemName, 'live' | 'sandbox' | 'disabled'>;
}

export class ConfigError extends Error {
  readonly problems: { variable: string; message: string }[];
  constructor(problems: { variable: string; message: string }[]) {
    super(
      `Gatehouse cannot start: the configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n') +
        '\nSet these environment variables (see README → Configuration) and start again.',
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const PRODUCTION_SECRETS = {
  SLACK_SIGNING_SECRET: 'required when NODE_ENV=production (Slack app → Basic Information → Signing Secret)',
  HRIS_WEBHOOK_SECRET: 'required when NODE_ENV=production (the HMAC secret your HRIS signs webhooks with)',
  SCIM_TOKEN: 'required when NODE_ENV=production (the bearer token your IdP sends to /scim/v2)',
} as const;

/**
 * Parses the environment once, at start-up. Every problem is collected and reported together,
 * each naming its variable, so an operator fixes them in one pass rather than one per restart.
 */
export function loadConfig(
  source: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env,
): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(environment)'),
        message: issue.message,
      })),
    );
  }
  const env = parsed.data;
  const problems: { variable: string; message: string }[] = [];
  const production = env.NODE_ENV === 'production';

  if (production) {
    for (const [variable, message] of Object.entries(PRODUCTION_SECRETS)) {
      if (!env[variable as keyof typeof PRODUCTION_SECRETS]) problems.push({ variable, message });
    }
  }

  const systems = {} as Config['systems'];
  for (const system of SYSTEM_NAMES) {
    const vars: readonly string[] = SYSTEM_CREDENTIALS[system];
    if (!env.SYSTEMS.includes(system)) {
      systems[system] = 'disabled';
      continue;
    }
    const set = vars.filter((v) => env[v as keyof Env] !== undefined);
    if (vars.length === 0) systems[system] = 'live';
    else if (set.length === vars.length) systems[system] = 'live';
    else if (set.length === 0) systems[system] = 'sandbox';
    else {
      systems[system] = 'sandbox';
      for (const missing of vars.filter((v) => !set.includes(v))) {
        problems.push({
          variable: missing,
          message: `${system} is half configured (${set.join(', ')} set): set ${missing} too, or unset ${set.join(', ')} to sandbox ${system}`,
        });
      }
    }
  }

  if (production && !env.ALLOW_SANDBOX) {
    const sandboxed = SYSTEM_NAMES.filter((s) => systems[s] === 'sandbox');
    if (sandboxed.length > 0) {
      problems.push({
        variable: 'ALLOW_SANDBOX',
        message: `NODE_ENV=production refuses sandboxed adapters (${sandboxed.join(', ')}): give them credentials, leave them out of SYSTEMS, or set ALLOW_SANDBOX=true`,
      });
    }
  }

  if (env.SLACK_APP_TOKEN && !env.SLACK_APP_TOKEN.startsWith('xapp-')) {
    problems.push({
      variable: 'SLACK_APP_TOKEN',
      message: 'must be an app-level token starting with xapp- (Basic Information → App-Level Tokens)',
    });
  }
  if (env.SLACK_APP_TOKEN && !env.SLACK_BOT_TOKEN) {
    problems.push({
      variable: 'SLACK_BOT_TOKEN',
      message:
        'Socket Mode (SLACK_APP_TOKEN) also needs the bot token (OAuth & Permissions → Bot User OAuth Token)',
    });
  }

  for (const system of env.MANUAL_SYSTEMS) {
    if (!(SYSTEM_NAMES as string[]).includes(system) || system === 'scim') {
      problems.push({ variable: 'MANUAL_SYSTEMS', message: `unknown system "${system}"; known: ${SYSTEM_NAMES.filter((s) => s !== 'scim' && s !== 'manual').join(', ')}` });
    } else if (systems[system as SystemName] === 'live' && system !== 'manual') {
      problems.push({ variable: 'MANUAL_SYSTEMS', message: `${system} has credentials set, so it is provisioned by its connector; unset them or take ${system} out of MANUAL_SYSTEMS` });
    }
  }
  for (const system of Object.keys(env.SYSTEM_OWNERS)) {
    if (!(SYSTEM_NAMES as string[]).includes(system.split(':')[0]!)) {
      problems.push({ variable: 'SYSTEM_OWNERS', message: `unknown system "${system}"; known: ${SYSTEM_NAMES.join(', ')} (scim:<app> for a SCIM app)` });
    }
  }
  for (const system of Object.keys(env.RATE_LIMITS)) {
    const family = system.split(':')[0]!;
    if (!(SYSTEM_NAMES as string[]).includes(family) || family === 'manual') {
      problems.push({ variable: 'RATE_LIMITS', message: `unknown system "${system}"; known: ${SYSTEM_NAMES.filter((s) => s !== 'manual').join(', ')} (scim:<app> for a SCIM app)` });
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);

  return {
    env,
    production,
    port: env.PORT,
    host: env.HOST,
    publicUrl: env.PUBLIC_URL,
    logLevel: env.LOG_LEVEL,
    databaseUrl: env.DATABASE_URL,
    databaseWaitMs: durationToMs(env.DATABASE_WAIT),
    dataDir: env.GATEHOUSE_DATA_DIR,
    embeddedPgSystemDir: env.EMBEDDED_PG_SYSTEM_DIR,
    embeddedPgPort: env.EMBEDDED_PG_PORT,
    slack: {
      botToken: env.SLACK_BOT_TOKEN,
      signingSecret: env.SLACK_SIGNING_SECRET,
      appToken: env.SLACK_APP_TOKEN,
      apiUrl: env.SLACK_API_URL,
      itChannel: env.IT_CHANNEL,
      driftChannel: env.DRIFT_CHANNEL ?? env.IT_CHANNEL,
    },
    hrisWebhookSecret: env.HRIS_WEBHOOK_SECRET,
    bamboo: { key: env.BAMBOOHR_WEBHOOK_SECRET, fieldMap: env.BAMBOOHR_FIELD_MAP },
    scimToken: env.SCIM_TOKEN,
    policiesDir: env.POLICIES_DIR,
    joinerLeadTimeMs: durationToMs(env.JOINER_LEAD_TIME),
    timeZones: { byLocation: env.LOCATION_TIME_ZONES, defaultZone: env.DEFAULT_TIME_ZONE },
    leaverSlaMs: durationToMs(env.LEAVER_SLA),
    hrEventMaxFutureMs: durationToMs(env.HR_EVENT_MAX_FUTURE),
    approvalReminderMs: durationToMs(env.APPROVAL_REMINDER),
    approvalTimeoutMs: durationToMs(env.APPROVAL_TIMEOUT),
    approvalDistinctApprovers: env.APPROVAL_DISTINCT_APPROVERS,
    driftSchedule: env.DRIFT_SCHEDULE,
    auditKey: env.AUDIT_KEY,
    auditAnchorSchedule: env.AUDIT_ANCHOR_SCHEDULE,
    itAdmins: env.IT_ADMINS,
    systemOwners: env.SYSTEM_OWNERS,
    rateLimits: env.RATE_LIMITS,
    manualSystems: [...new Set(['manual', ...env.MANUAL_SYSTEMS])].filter((s) => systems[s as SystemName] !== 'disabled'),
    allowSandbox: env.ALLOW_SANDBOX,
    systems,
  };
}

/**
 * POLICIES_DIR alone, for CLI commands that only read policies (plan, policy check, why): they
 * must work without the secrets a production `serve` needs.
 */
export function policiesDirFromEnv(source: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env): string {
  return envSchema.shape.POLICIES_DIR.parse(source.POLICIES_DIR);
}

/**
 * DEFAULT_TIME_ZONE and LOCATION_TIME_ZONES alone, for the CLI commands that evaluate people
 * without serving (plan, why, policy impact): the same dates as `serve`, without its secrets.
 */
export function timeZonesFromEnv(source: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env): TimeZoneSettings {
  const parsed = envSchema.pick({ DEFAULT_TIME_ZONE: true, LOCATION_TIME_ZONES: true }).safeParse({ DEFAULT_TIME_ZONE: source.DEFAULT_TIME_ZONE, LOCATION_TIME_ZONES: source.LOCATION_TIME_ZONES });
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '(environment)'), message: issue.message })));
  return { byLocation: parsed.data.LOCATION_TIME_ZONES, defaultZone: parsed.data.DEFAULT_TIME_ZONE };
}
