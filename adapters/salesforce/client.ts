/**
 * The only file that imports the Salesforce SDK (jsforce 3). It keeps jsforce's REST layer
 * (Connection.query/queryMore, create/update/destroy, OAuth2.requestToken) and changes what would
 * hide the API from the orchestrator:
 *
 * - Transport: jsforce's default transport retries GET/PUT/DELETE on 420/429/5xx and socket
 *   errors up to 5 times with back-off, and times a request out only after 30 minutes. Ours (a
 *   subclass of jsforce's own Transport, set on the Connection and the OAuth2 client) passes
 *   `retry: { maxRetries: 0 }` and `timeout: timeoutMs` to it, so each call is one request that
 *   fails fast. It also turns every answer ≥ 400 into a {@link SalesforceHttpError} carrying the
 *   status, headers and Salesforce's error array: jsforce's own HttpApiError keeps only the first
 *   errorCode and message, and classify() needs the status.
 * - Sign-in: the OAuth 2.0 client credentials flow (`grant_type=client_credentials` to
 *   `<My Domain>/services/oauth2/token`, jsforce's `OAuth2.requestToken`; jsforce issue #1331).
 *   The Connection is made with the token and no refresh delegate: jsforce's delegate would
 *   refresh and re-send on every 401, without bound. Here an expired session
 *   (401 INVALID_SESSION_ID) gets one new token and one re-send; a second 401 is the caller's.
 * - Limits: every response's `Sforce-Limit-Info: api-usage=<used>/<allocation>` is kept
 *   (`lastLimitInfo`). Once usage reaches `apiUsageCeiling` (95%) of the org's 24-hour
 *   allocation, requests are refused before they are sent (a {@link QuotaGuardError}) until
 *   `apiUsageRecheckMs` has passed, when one request may go to read the header again: the last 5%
 *   stays for people and other integrations.
 *   https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
 */
import jsforce from 'jsforce';
import { StreamPromise } from 'jsforce/lib/util/promise.js';
import { PassThrough } from 'node:stream';
import { Transport } from 'jsforce/lib/transport.js';

type HttpRequest = Parameters<Transport['httpRequest']>[0];
type HttpRequestOptions = NonNullable<Parameters<Transport['httpRequest']>[1]>;
type HttpResponse = Awaited<ReturnType<Transport['httpRequest']>>;
type Connection = InstanceType<typeof jsforce.Connection>;

export interface SalesforceClientConfig {
  /** The org's My Domain URL, e.g. https://acme.my.salesforce.com (SALESFORCE_INSTANCE_URL). */
  instanceUrl: string;
  /** Consumer key of the connected app (or external client app) with the client credentials flow enabled. */
  clientId: string;
  clientSecret: string;
  /** REST API version, e.g. '62.0'. */
  apiVersion?: string;
  /** Longest one request may take before it fails as retryable. Default 10 s. */
  timeoutMs?: number;
  /** Share of the 24-hour API allocation above which requests are refused before they are sent. Default 0.95. */
  apiUsageCeiling?: number;
  /** How long a refusal for usage lasts before one request may read the usage again. Default 5 minutes. */
  apiUsageRecheckMs?: number;
}

export interface LimitInfo {
  used: number;
  limit: number;
  /** When the header was read (epoch ms). */
  at: number;
}

/** One Salesforce error: the REST API answers errors as an array of these. */
export interface SalesforceErrorItem {
  message: string;
  errorCode: string;
  fields?: string[];
}

/** A Salesforce answer ≥ 400, with what classify() needs from it. */
export class SalesforceHttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Salesforce's error array; for the OAuth endpoint, one item from `{error, error_description}`. */
  readonly errors: SalesforceErrorItem[];
  readonly body: unknown;
  readonly oauth: boolean;
  constructor(method: string, url: string, status: number, headers: Record<string, string>, body: unknown) {
    const oauth = /\/services\/oauth2\//.test(url);
    const errors = errorItems(body, oauth);
    super(`${method} ${new URL(url).pathname}: ${status} ${errors.map((e) => `${e.errorCode}: ${e.message}`).join('; ')}`.trim());
    this.name = 'SalesforceHttpError';
    this.status = status;
    this.headers = headers;
    this.errors = errors;
    this.body = body;
    this.oauth = oauth;
  }
  get errorCode(): string | undefined {
    return this.errors[0]?.errorCode;
  }
}

/** Requests refused here because the org's API usage is at the ceiling. */
export class QuotaGuardError extends Error {
  readonly limitInfo: LimitInfo;
  readonly retryAfterMs: number;
  constructor(limitInfo: LimitInfo, retryAfterMs: number, ceiling: number) {
    super(`the org has used ${limitInfo.used} of its ${limitInfo.limit} API requests for the last 24 hours (≥ ${Math.round(ceiling * 100)}%); Gatehouse leaves the rest to people and other integrations`);
    this.name = 'QuotaGuardError';
    this.limitInfo = limitInfo;
    this.retryAfterMs = retryAfterMs;
  }
}

function errorItems(body: unknown, oauth: boolean): SalesforceErrorItem[] {
  if (Array.isArray(body)) {
    return body
      .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
      .map((e) => ({ message: String(e.message ?? ''), errorCode: String(e.errorCode ?? ''), fields: Array.isArray(e.fields) ? e.fields.map(String) : undefined }));
  }
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    // OAuth 2.0 token endpoint errors: {"error":"invalid_client","error_description":"invalid client credentials"}.
    if (oauth || typeof b.error === 'string') return [{ errorCode: String(b.error ?? ''), message: String(b.error_description ?? '') }];
    if (typeof b.errorCode === 'string') return [{ errorCode: b.errorCode, message: String(b.message ?? '') }];
  }
  return typeof body === 'string' && body !== '' ? [{ errorCode: '', message: body.slice(0, 300) }] : [];
}

function parseBody(response: HttpResponse): unknown {
  try {
    return JSON.parse(response.body);
  } catch {
    return response.body;
  }
}

/** `api-usage=18/5000` → {used: 18, limit: 5000}. */
export function parseLimitInfo(header: string | undefined, now = Date.now()): LimitInfo | null {
  const m = /api-usage=(\d+)\/(\d+)/.exec(header ?? '');
  return m ? { used: Number(m[1]), limit: Number(m[2]), at: now } : null;
}

/** jsforce's transport, one attempt per request, with a timeout; answers ≥ 400 become SalesforceHttpError. */
class OnceTransport extends Transport {
  readonly #timeoutMs: number;
  readonly #beforeSend: (req: HttpRequest) => void;
  readonly #onResponse: (response: HttpResponse) => void;
  constructor(timeoutMs: number, beforeSend: (req: HttpRequest) => void, onResponse: (response: HttpResponse) => void) {
    super();
    this.#timeoutMs = timeoutMs;
    this.#beforeSend = beforeSend;
    this.#onResponse = onResponse;
  }
  override httpRequest(req: HttpRequest, options: HttpRequestOptions = {}): StreamPromise<HttpResponse> {
    return StreamPromise.create(() => {
      try {
        this.#beforeSend(req);
      } catch (error) {
        return { stream: new PassThrough(), promise: Promise.reject(error as Error) };
      }
      const inner = super.httpRequest(req, { ...options, timeout: this.#timeoutMs, retry: { maxRetries: 0 } });
      const promise = inner.then((response) => {
        this.#onResponse(response);
        if (response.statusCode >= 400) throw new SalesforceHttpError(req.method, req.url, response.statusCode, response.headers, parseBody(response));
        return response;
      });
      return { stream: inner.stream(), promise };
    });
  }
}

export interface QueryPage<T> {
  records: T[];
  done: boolean;
  nextRecordsUrl?: string;
}

/** What the adapter needs from Salesforce, in plain shapes. */
export interface SalesforceApi {
  /** The last `Sforce-Limit-Info` seen: the org's API usage against its 24-hour allocation. */
  readonly lastLimitInfo: LimitInfo | null;
  /** Every record of a SOQL query, page by page (`nextRecordsUrl`), as iterated. */
  query<T>(soql: string): AsyncIterable<T>;
  /** POST /sobjects/<type>: the new record's id. */
  create(type: string, record: Record<string, unknown>): Promise<string>;
  /** PATCH /sobjects/<type>/<id>. */
  update(type: string, id: string, fields: Record<string, unknown>): Promise<void>;
  /** DELETE /sobjects/<type>/<id>. */
  destroy(type: string, id: string): Promise<void>;
}

export function createSalesforceApi(config: SalesforceClientConfig, now: () => number = Date.now): SalesforceApi {
  const instanceUrl = config.instanceUrl.replace(/\/+$/, '');
  const version = config.apiVersion ?? '62.0';
  const ceiling = config.apiUsageCeiling ?? 0.95;
  const recheckMs = config.apiUsageRecheckMs ?? 5 * 60_000;
  let lastLimitInfo: LimitInfo | null = null;
  let blockedUntil = 0;

  const transport = new OnceTransport(
    config.timeoutMs ?? 10_000,
    (req) => {
      if (/\/services\/oauth2\//.test(req.url) || !lastLimitInfo || lastLimitInfo.used < lastLimitInfo.limit * ceiling) return;
      const t = now();
      if (t >= blockedUntil) {
        // The refusal has lasted long enough: let this one through to read the usage again.
        blockedUntil = t + recheckMs;
        return;
      }
      throw new QuotaGuardError(lastLimitInfo, blockedUntil - t, ceiling);
    },
    (response) => {
      const info = parseLimitInfo(response.headers['sforce-limit-info'], now());
      if (!info) return;
      lastLimitInfo = info;
      if (info.used >= info.limit * ceiling) {
        if (blockedUntil <= now()) blockedUntil = now() + recheckMs;
      } else {
        blockedUntil = 0;
      }
    },
  );

  const oauth2 = new jsforce.OAuth2({ clientId: config.clientId, clientSecret: config.clientSecret, loginUrl: instanceUrl });
  oauth2._transport = transport;
  let conn: Connection | null = null;
  let signingIn: Promise<Connection> | null = null;

  /** A new token by the client credentials flow; concurrent callers share one request. */
  function signIn(): Promise<Connection> {
    signingIn ??= (async () => {
      try {
        const token = await oauth2.requestToken({ grant_type: 'client_credentials' });
        const next = new jsforce.Connection({ instanceUrl: token.instance_url || instanceUrl, accessToken: token.access_token, version });
        next._transport = transport;
        conn = next;
        return next;
      } finally {
        signingIn = null;
      }
    })();
    return signingIn;
  }

  const expired = (error: unknown) => error instanceof SalesforceHttpError && error.status === 401 && !error.oauth;

  /** One call with the current session; an expired session is renewed once and the call sent once more. */
  async function withSession<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
    const current = conn ?? (await signIn());
    try {
      return await fn(current);
    } catch (error) {
      if (!expired(error)) throw error;
      // Another call may have renewed it already.
      const renewed = conn !== current && conn ? conn : await signIn();
      return fn(renewed);
    }
  }

  return {
    get lastLimitInfo() {
      return lastLimitInfo;
    },
    async *query<T>(soql: string): AsyncIterable<T> {
      let page = (await withSession((c) => Promise.resolve(c.query(soql)))) as unknown as QueryPage<T>;
      for (;;) {
        yield* page.records;
        if (page.done || !page.nextRecordsUrl) return;
        // jsforce takes the locator, the last segment of nextRecordsUrl (/services/data/vXX.X/query/01gD0000002HU6KIAW-2000).
        const locator = page.nextRecordsUrl.split('/').pop()!;
        page = (await withSession((c) => Promise.resolve(c.queryMore(locator)))) as unknown as QueryPage<T>;
      }
    },
    async create(type, record) {
      const result = await withSession((c) => c.sobject(type).create(record));
      if (!result.success || !result.id) {
        throw new SalesforceHttpError('POST', `${instanceUrl}/services/data/v${version}/sobjects/${type}`, 400, {}, (result as { errors?: unknown }).errors ?? []);
      }
      return result.id;
    },
    async update(type, id, fields) {
      await withSession((c) => c.sobject(type).update({ Id: id, ...fields }));
    },
    async destroy(type, id) {
      await withSession((c) => c.sobject(type).destroy(id));
    },
  };
}
