/**
 * A stateful fake of the Salesforce REST API calls the adapter makes, served through nock, in the
 * shapes Salesforce documents:
 * - OAuth 2.0 client credentials flow, POST /services/oauth2/token (form-encoded grant_type,
 *   client_id, client_secret) → {access_token, signature, scope, instance_url, id, token_type,
 *   issued_at}; errors {error, error_description}:
 *   https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_client_credentials_flow.htm
 * - Query, GET /services/data/vXX.X/query?q=<SOQL> → {totalSize, done, nextRecordsUrl?, records:
 *   [{attributes: {type, url}, ...}]}, and the next batch at nextRecordsUrl
 *   (/services/data/vXX.X/query/01gD0000002HU6KIAW-2000); relationship fields (Profile.Name) come
 *   back as nested records, null when the lookup is empty:
 *   https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm
 *   SOQL string escapes: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm
 *   (and AND/OR mixed without parentheses is a MALFORMED_QUERY, as in SOQL).
 * - sObject rows: POST /sobjects/<type> → 201 {id, success, errors}; PATCH and DELETE
 *   /sobjects/<type>/<id> → 204:
 *   https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_create.htm
 * - Errors: an array of {message, errorCode, fields}, with the statuses of
 *   https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
 *   (401 INVALID_SESSION_ID, 403 REQUEST_LIMIT_EXCEEDED — Salesforce sends no 429 and no
 *   Retry-After —, 404 NOT_FOUND, 503 SERVER_UNAVAILABLE, 400 DUPLICATE_VALUE for an assignment
 *   that exists, REQUIRED_FIELD_MISSING, INVALID_FIELD, MALFORMED_QUERY).
 * - Sforce-Limit-Info: api-usage=<used>/<allocation> on every REST response:
 *   https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
 * - Objects and fields: User, Profile, PermissionSet (IsOwnedByProfile: every profile owns one,
 *   assigned to each of its users), PermissionSetGroup, PermissionSetAssignment (a group's
 *   assignment carries PermissionSetGroupId and the group's aggregate PermissionSetId):
 *   https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_permissionsetassignment.htm
 */
import nock from 'nock';

export type SalesforceFault = 'limit' | 'unavailable' | 'timeout' | 'revoked' | 'session' | 'forbidden' | 'not-found';
type Reply = [number, unknown, Record<string, string>?];
type Row = Record<string, unknown> & { Id: string };

/** Fields and lookups of the objects the fake keeps. */
const SCHEMA: Record<string, { fields: string[]; lookups: Record<string, { object: string; key: string }> }> = {
  User: {
    fields: ['Id', 'Username', 'Email', 'FirstName', 'LastName', 'Alias', 'CommunityNickname', 'TimeZoneSidKey', 'LocaleSidKey', 'EmailEncodingKey', 'LanguageLocaleKey', 'ProfileId', 'EmployeeNumber', 'FederationIdentifier', 'IsActive', 'UserType', 'Title', 'Department'],
    lookups: { Profile: { object: 'Profile', key: 'ProfileId' } },
  },
  Profile: { fields: ['Id', 'Name'], lookups: {} },
  PermissionSet: { fields: ['Id', 'Name', 'Label', 'NamespacePrefix', 'IsOwnedByProfile', 'ProfileId', 'PermissionSetGroupId', 'Type'], lookups: {} },
  PermissionSetGroup: { fields: ['Id', 'DeveloperName', 'MasterLabel', 'NamespacePrefix', 'Status'], lookups: {} },
  PermissionSetAssignment: {
    fields: ['Id', 'AssigneeId', 'PermissionSetId', 'PermissionSetGroupId', 'ExpirationDate', 'IsActive'],
    lookups: {
      Assignee: { object: 'User', key: 'AssigneeId' },
      PermissionSet: { object: 'PermissionSet', key: 'PermissionSetId' },
      PermissionSetGroup: { object: 'PermissionSetGroup', key: 'PermissionSetGroupId' },
    },
  },
};
const PREFIX: Record<string, string> = { User: '005', Profile: '00e', PermissionSet: '0PS', PermissionSetGroup: '0PG', PermissionSetAssignment: '0Pa' };
const REQUIRED_USER_FIELDS = ['Username', 'LastName', 'Email', 'Alias', 'TimeZoneSidKey', 'LocaleSidKey', 'EmailEncodingKey', 'LanguageLocaleKey', 'ProfileId'];

class SoqlError extends Error {
  readonly errorCode: 'MALFORMED_QUERY' | 'INVALID_FIELD' | 'INVALID_TYPE';
  constructor(errorCode: 'MALFORMED_QUERY' | 'INVALID_FIELD' | 'INVALID_TYPE', message: string) {
    super(message);
    this.errorCode = errorCode;
  }
}

type Token = { kind: 'word' | 'string' | 'op' | 'punct'; value: string };
type Expr = { and: Expr[] } | { or: Expr[] } | { field: string; op: '=' | '!='; value: string | boolean | null };

/** Tokens of a SOQL statement; string literals unescaped as SOQL does, anything else refused. */
export function tokenizeSoql(soql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const escapes: Record<string, string> = { n: '\n', N: '\n', r: '\r', R: '\r', t: '\t', T: '\t', b: '\b', B: '\b', f: '\f', F: '\f', '"': '"', "'": "'", '\\': '\\' };
  while (i < soql.length) {
    const c = soql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= soql.length) throw new SoqlError('MALFORMED_QUERY', 'unexpected end of query: unterminated string');
        const d = soql[i]!;
        if (d === "'") {
          i++;
          break;
        }
        if (d === '\\') {
          const e = soql[i + 1];
          if (e === undefined || !(e in escapes)) throw new SoqlError('MALFORMED_QUERY', `Invalid string literal: bad escape sequence \\${e ?? ''}`);
          value += escapes[e];
          i += 2;
          continue;
        }
        value += d;
        i++;
      }
      tokens.push({ kind: 'string', value });
    } else if (c === '!' && soql[i + 1] === '=') {
      tokens.push({ kind: 'op', value: '!=' });
      i += 2;
    } else if (c === '=') {
      tokens.push({ kind: 'op', value: '=' });
      i++;
    } else if (c === ',' || c === '(' || c === ')') {
      tokens.push({ kind: 'punct', value: c });
      i++;
    } else if (/[A-Za-z0-9_.]/.test(c)) {
      let j = i;
      while (j < soql.length && /[A-Za-z0-9_.]/.test(soql[j]!)) j++;
      tokens.push({ kind: 'word', value: soql.slice(i, j) });
      i = j;
    } else {
      throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${c}'`);
    }
  }
  return tokens;
}

/** SELECT <fields> FROM <object> [WHERE <expr>] [LIMIT n]: the subset of SOQL the adapter uses. */
export function parseSoql(soql: string): { fields: string[]; object: string; where: Expr | null; limit: number | null } {
  const t = tokenizeSoql(soql);
  let i = 0;
  const peek = () => t[i];
  const isWord = (w: string) => peek()?.kind === 'word' && peek()!.value.toUpperCase() === w;
  const expectWord = (w: string) => {
    if (!isWord(w)) throw new SoqlError('MALFORMED_QUERY', `expecting ${w}, found '${peek()?.value ?? 'end of query'}'`);
    i++;
  };
  expectWord('SELECT');
  const fields: string[] = [];
  for (;;) {
    const f = peek();
    if (f?.kind !== 'word') throw new SoqlError('MALFORMED_QUERY', `expecting a field, found '${f?.value ?? 'end of query'}'`);
    fields.push(f.value);
    i++;
    if (peek()?.value === ',') i++;
    else break;
  }
  expectWord('FROM');
  const object = peek();
  if (object?.kind !== 'word') throw new SoqlError('MALFORMED_QUERY', 'expecting an object after FROM');
  i++;
  const parseExpr = (): Expr => {
    const terms: Expr[] = [parseAtom()];
    let joiner: 'AND' | 'OR' | null = null;
    while (isWord('AND') || isWord('OR')) {
      const j = peek()!.value.toUpperCase() as 'AND' | 'OR';
      if (joiner && joiner !== j) throw new SoqlError('MALFORMED_QUERY', 'unexpected token: mixing AND and OR needs parentheses');
      joiner = j;
      i++;
      terms.push(parseAtom());
    }
    return joiner === 'OR' ? { or: terms } : { and: terms };
  };
  const parseAtom = (): Expr => {
    if (peek()?.value === '(') {
      i++;
      const e = parseExpr();
      if (peek()?.value !== ')') throw new SoqlError('MALFORMED_QUERY', "expecting ')'");
      i++;
      return e;
    }
    const field = peek();
    if (field?.kind !== 'word') throw new SoqlError('MALFORMED_QUERY', `expecting a field, found '${field?.value ?? 'end of query'}'`);
    i++;
    const op = peek();
    if (op?.kind !== 'op') throw new SoqlError('MALFORMED_QUERY', `expecting '=' or '!=', found '${op?.value ?? 'end of query'}'`);
    i++;
    const v = peek();
    i++;
    if (v?.kind === 'string') return { field: field.value, op: op.value as '=', value: v.value };
    if (v?.kind === 'word' && /^(true|false)$/i.test(v.value)) return { field: field.value, op: op.value as '=', value: v.value.toLowerCase() === 'true' };
    if (v?.kind === 'word' && /^null$/i.test(v.value)) return { field: field.value, op: op.value as '=', value: null };
    throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${v?.value ?? 'end of query'}'`);
  };
  let where: Expr | null = null;
  if (isWord('WHERE')) {
    i++;
    where = parseExpr();
  }
  let limit: number | null = null;
  if (isWord('LIMIT')) {
    i++;
    limit = Number(peek()?.value);
    i++;
  }
  if (i < t.length) throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${t[i]!.value}'`);
  return { fields, object: object.value, where, limit };
}

export class FakeSalesforce {
  readonly instanceUrl: string;
  readonly clientId = '3MVG9fakeClientId';
  readonly clientSecret = 'fake-client-secret';
  readonly rows: Record<string, Map<string, Row>> = Object.fromEntries(Object.keys(SCHEMA).map((o) => [o, new Map<string, Row>()]));
  /** `METHOD /path` of every REST request (tokens excluded). */
  readonly requests: string[] = [];
  /** Every SOQL statement received. */
  readonly queries: string[] = [];
  tokenRequests = 0;
  pageSize: number;
  apiUsed = 0;
  apiLimit = 100_000;
  /** How long a `timeout` fault stalls before answering: longer than any client should wait. */
  stallMs = 3_000;
  #tokens = new Set<string>();
  #refuseTokens = 0;
  #faults: { fault: SalesforceFault; onlyMethod?: string }[] = [];
  #locators = new Map<string, Row[]>();
  #seq = 0;

  constructor(instanceUrl = 'https://acme.my.salesforce.com', pageSize = 2) {
    this.instanceUrl = instanceUrl;
    this.pageSize = pageSize;
    this.addProfile('Standard User');
    this.addProfile('System Administrator');
  }

  #id(object: string): string {
    return `${PREFIX[object]}${String(++this.#seq).padStart(12, '0')}AAA`;
  }

  #insert(object: string, fields: Record<string, unknown>): Row {
    const row = { Id: this.#id(object), ...fields } as Row;
    this.rows[object]!.set(row.Id, row);
    return row;
  }

  addProfile(name: string): string {
    const profile = this.#insert('Profile', { Name: name });
    // Every profile owns a permission set that holds its permissions.
    this.#insert('PermissionSet', { Name: `X00ex${profile.Id.slice(3, 12)}`, Label: name, NamespacePrefix: null, IsOwnedByProfile: true, ProfileId: profile.Id, PermissionSetGroupId: null, Type: 'Profile' });
    return profile.Id;
  }
  addPermissionSet(name: string, namespace: string | null = null): string {
    return this.#insert('PermissionSet', { Name: name, Label: name.replace(/_/g, ' '), NamespacePrefix: namespace, IsOwnedByProfile: false, ProfileId: null, PermissionSetGroupId: null, Type: 'Regular' }).Id;
  }
  addPermissionSetGroup(developerName: string, namespace: string | null = null): string {
    const group = this.#insert('PermissionSetGroup', { DeveloperName: developerName, MasterLabel: developerName.replace(/_/g, ' '), NamespacePrefix: namespace, Status: 'Updated' });
    // The group's aggregate permission set, which its assignments point at.
    this.#insert('PermissionSet', { Name: `X0PG${group.Id.slice(3, 12)}`, Label: developerName, NamespacePrefix: null, IsOwnedByProfile: false, ProfileId: null, PermissionSetGroupId: group.Id, Type: 'Group' });
    return group.Id;
  }
  /** A user made outside Gatehouse (by Okta's provisioning, or by hand). */
  addUser(fields: { Username: string; Email: string; LastName: string; EmployeeNumber?: string | null; FederationIdentifier?: string | null; IsActive?: boolean; profile?: string }): string {
    const profileId = [...this.rows.Profile!.values()].find((p) => p.Name === (fields.profile ?? 'Standard User'))!.Id;
    const { profile: _profile, ...rest } = fields;
    const user = this.#insert('User', { Alias: 'x', IsActive: true, UserType: 'Standard', EmployeeNumber: null, FederationIdentifier: null, ...rest, ProfileId: profileId });
    this.#insert('PermissionSetAssignment', { AssigneeId: user.Id, PermissionSetId: this.#profilePermissionSet(profileId), PermissionSetGroupId: null, ExpirationDate: null, IsActive: true });
    return user.Id;
  }

  user(id: string): Row | undefined {
    return this.rows.User!.get(id);
  }
  /** Entitlement names the user holds by assignment (profile-owned excluded), as the fake stores them. */
  assignmentsOf(userId: string): string[] {
    const out: string[] = [];
    for (const a of this.rows.PermissionSetAssignment!.values()) {
      if (a.AssigneeId !== userId) continue;
      if (a.PermissionSetGroupId) out.push(`group:${this.rows.PermissionSetGroup!.get(a.PermissionSetGroupId as string)!.DeveloperName}`);
      else {
        const ps = this.rows.PermissionSet!.get(a.PermissionSetId as string)!;
        out.push(ps.IsOwnedByProfile ? `profile:${this.rows.Profile!.get(ps.ProfileId as string)!.Name}` : `set:${ps.Name}`);
      }
    }
    return out.sort();
  }

  /** Every access token issued so far stops working, as when a session times out. */
  expireTokens(): void {
    this.#tokens.clear();
  }
  failNext(fault: SalesforceFault, onlyMethod?: string): void {
    this.#faults.push({ fault, onlyMethod });
  }

  start(): this {
    const scope = nock(this.instanceUrl).persist();
    for (const method of ['GET', 'POST', 'PATCH', 'DELETE']) {
      scope.intercept(/.*/, method).reply(async (request: unknown) => {
        // nock 15 passes the intercepted fetch Request as the only argument.
        const req = request as { url: string; headers: Headers; text(): Promise<string> };
        return this.#handle(method, new URL(req.url), req.headers.get('authorization'), await req.text());
      });
    }
    return this;
  }

  stop(): void {
    nock.cleanAll();
  }

  #profilePermissionSet(profileId: string): string {
    return [...this.rows.PermissionSet!.values()].find((p) => p.IsOwnedByProfile && p.ProfileId === profileId)!.Id;
  }

  #token(body: string): Reply {
    this.tokenRequests++;
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials') return [400, { error: 'unsupported_grant_type', error_description: 'grant type not supported' }];
    if (this.#refuseTokens > 0 || form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret) {
      if (this.#refuseTokens > 0) this.#refuseTokens--;
      return [400, { error: 'invalid_client', error_description: 'invalid client credentials' }];
    }
    const token = `00Dxx0000001gPL!AR${++this.#seq}.fake`;
    this.#tokens.add(token);
    return [
      200,
      { access_token: token, signature: 'c2lnbmF0dXJl', scope: 'api', instance_url: this.instanceUrl, id: 'https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS', token_type: 'Bearer', issued_at: String(Date.now()) },
      { 'content-type': 'application/json;charset=UTF-8' },
    ];
  }

  #handle(method: string, url: URL, authorization: string | null, text: string): Reply | Promise<Reply> {
    if (url.pathname === '/services/oauth2/token' && method === 'POST') return this.#token(text);
    this.requests.push(`${method} ${url.pathname}`);
    this.apiUsed++;
    const headers = { 'content-type': 'application/json;charset=UTF-8', 'sforce-limit-info': `api-usage=${this.apiUsed}/${this.apiLimit}` };
    const error = (status: number, errorCode: string, message: string, fields: string[] = []): Reply => [status, [{ message, errorCode, fields }], headers];

    const i = this.#faults.findIndex((f) => !f.onlyMethod || f.onlyMethod === method);
    if (i >= 0) {
      const [{ fault }] = this.#faults.splice(i, 1) as [{ fault: SalesforceFault }];
      if (fault === 'limit') return error(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
      if (fault === 'unavailable') return error(503, 'SERVER_UNAVAILABLE', 'Server temporarily unavailable.');
      if (fault === 'forbidden') return error(403, 'API_DISABLED_FOR_ORG', 'The REST API is not enabled for this Organization.');
      if (fault === 'not-found') return error(404, 'NOT_FOUND', 'The requested resource does not exist');
      // The session is refused although the token endpoint still gives tokens (a connected app policy, say).
      if (fault === 'session') return error(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
      if (fault === 'revoked') {
        // The connected app's secret was rotated: the session ends and no new token is given.
        this.#tokens.clear();
        this.#refuseTokens = 1;
        return error(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
      }
      return new Promise((resolve) => setTimeout(() => resolve(error(503, 'SERVER_UNAVAILABLE', 'Server temporarily unavailable.')), this.stallMs));
    }

    const bearer = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    if (!bearer || !this.#tokens.has(bearer)) return error(401, 'INVALID_SESSION_ID', 'Session expired or invalid');

    const m = /^\/services\/data\/v(\d+\.\d)\/(.*)$/.exec(url.pathname);
    if (!m) return error(404, 'NOT_FOUND', 'The requested resource does not exist');
    const version = m[1]!;
    const path = m[2]!.split('/').filter(Boolean).map(decodeURIComponent);
    const base = `/services/data/v${version}`;

    if (path[0] === 'query' && method === 'GET') {
      if (path.length === 2) {
        const [locator, offset] = path[1]!.split('-') as [string, string];
        const records = this.#locators.get(locator);
        if (!records) return error(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
        return [200, this.#page(base, locator, records, Number(offset)), headers];
      }
      const soql = url.searchParams.get('q') ?? '';
      this.queries.push(soql);
      try {
        const records = this.#query(base, soql);
        const locator = `01g${String(++this.#seq).padStart(12, '0')}AAA`;
        this.#locators.set(locator, records);
        return [200, this.#page(base, locator, records, 0), headers];
      } catch (e) {
        if (e instanceof SoqlError) return error(400, e.errorCode, e.message);
        throw e;
      }
    }

    if (path[0] === 'sobjects' && path[1] && SCHEMA[path[1]]) {
      const object = path[1];
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      const table = this.rows[object]!;
      const unknown = Object.keys(body).find((f) => !SCHEMA[object]!.fields.includes(f) || f === 'Id');
      if (path.length === 2 && method === 'POST') {
        if (unknown) return error(400, 'INVALID_FIELD', `No such column '${unknown}' on sobject of type ${object}`, [unknown]);
        const refused = object === 'User' ? this.#checkUser(body) : object === 'PermissionSetAssignment' ? this.#checkAssignment(body) : null;
        if (refused) return error(400, refused[0], refused[1], refused[2]);
        const row = this.#insert(object, object === 'User' ? { IsActive: true, UserType: 'Standard', ...body } : { ExpirationDate: null, IsActive: true, ...body });
        if (object === 'User') this.#insert('PermissionSetAssignment', { AssigneeId: row.Id, PermissionSetId: this.#profilePermissionSet(row.ProfileId as string), PermissionSetGroupId: null, ExpirationDate: null, IsActive: true });
        return [201, { id: row.Id, success: true, errors: [] }, headers];
      }
      if (path.length === 3) {
        const row = table.get(path[2]!);
        if (!row) return error(404, 'NOT_FOUND', 'The requested resource does not exist');
        if (method === 'PATCH') {
          if (unknown) return error(400, 'INVALID_FIELD', `No such column '${unknown}' on sobject of type ${object}`, [unknown]);
          if (object === 'User' && body.ProfileId !== undefined && body.ProfileId !== row.ProfileId) {
            if (!this.rows.Profile!.has(body.ProfileId as string)) return error(400, 'INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', ['ProfileId']);
            const owned = this.#profilePermissionSet(row.ProfileId as string);
            for (const a of this.rows.PermissionSetAssignment!.values()) if (a.AssigneeId === row.Id && a.PermissionSetId === owned) a.PermissionSetId = this.#profilePermissionSet(body.ProfileId as string);
          }
          Object.assign(row, body);
          return [204, ''];
        }
        if (method === 'DELETE') {
          table.delete(row.Id);
          return [204, ''];
        }
      }
    }
    return error(404, 'NOT_FOUND', 'The requested resource does not exist');
  }

  #checkUser(body: Record<string, unknown>): [string, string, string[]] | null {
    const missing = REQUIRED_USER_FIELDS.filter((f) => typeof body[f] !== 'string' || body[f] === '');
    if (missing.length) return ['REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing];
    if (String(body.Alias).length > 8) return ['STRING_TOO_LONG', `Alias: data value too large: ${String(body.Alias)} (max length=8)`, ['Alias']];
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(String(body.Username))) return ['INVALID_EMAIL_ADDRESS', `Username: invalid email address: ${String(body.Username)}`, ['Username']];
    const users = [...this.rows.User!.values()];
    if (users.some((u) => String(u.Username).toLowerCase() === String(body.Username).toLowerCase())) {
      return ['DUPLICATE_USERNAME', 'Duplicate Username.<br>The username already exists in this or another Salesforce organization. Usernames must be unique across all Salesforce organizations.', ['Username']];
    }
    if (body.CommunityNickname !== undefined && users.some((u) => u.CommunityNickname === body.CommunityNickname)) return ['DUPLICATE_COMM_NICKNAME', 'Duplicate Nickname.', ['CommunityNickname']];
    if (!this.rows.Profile!.has(String(body.ProfileId))) return ['INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', ['ProfileId']];
    return null;
  }

  #checkAssignment(body: Record<string, unknown>): [string, string, string[]] | null {
    if (!this.rows.User!.has(String(body.AssigneeId))) return ['INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', ['AssigneeId']];
    if (Boolean(body.PermissionSetId) === Boolean(body.PermissionSetGroupId)) return ['REQUIRED_FIELD_MISSING', 'Required fields are missing: [PermissionSetId or PermissionSetGroupId]', []];
    if (body.PermissionSetGroupId) {
      if (!this.rows.PermissionSetGroup!.has(String(body.PermissionSetGroupId))) return ['INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', ['PermissionSetGroupId']];
      body.PermissionSetId = [...this.rows.PermissionSet!.values()].find((p) => p.PermissionSetGroupId === body.PermissionSetGroupId)!.Id;
    } else if (!this.rows.PermissionSet!.has(String(body.PermissionSetId))) return ['INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', ['PermissionSetId']];
    body.PermissionSetGroupId ??= null;
    for (const a of this.rows.PermissionSetAssignment!.values()) {
      if (a.AssigneeId === body.AssigneeId && a.PermissionSetId === body.PermissionSetId) {
        return ['DUPLICATE_VALUE', `Duplicate PermissionSetAssignment. Assignee: ${String(body.AssigneeId)}; Permission Set: ${String(body.PermissionSetId)}`, []];
      }
    }
    return null;
  }

  #page(base: string, locator: string, records: Row[], offset: number) {
    const page = records.slice(offset, offset + this.pageSize);
    const done = offset + this.pageSize >= records.length;
    return { totalSize: records.length, done, ...(done ? {} : { nextRecordsUrl: `${base}/query/${locator}-${offset + this.pageSize}` }), records: page };
  }

  /** A field of a row, following one lookup (Profile.Name); INVALID_FIELD for what the object does not have. */
  #value(object: string, row: Row, field: string): unknown {
    const schema = SCHEMA[object]!;
    const [head, rest] = field.split(/\.(.*)/s) as [string, string | undefined];
    if (rest === undefined) {
      if (!schema.fields.includes(head)) throw new SoqlError('INVALID_FIELD', `No such column '${head}' on entity '${object}'.`);
      return row[head] ?? null;
    }
    const lookup = schema.lookups[head];
    if (!lookup) throw new SoqlError('INVALID_FIELD', `Didn't understand relationship '${head}' in field path.`);
    const target = this.rows[lookup.object]!.get(row[lookup.key] as string);
    if (!SCHEMA[lookup.object]!.fields.includes(rest)) throw new SoqlError('INVALID_FIELD', `No such column '${rest}' on entity '${lookup.object}'.`);
    return target ? (target[rest] ?? null) : null;
  }

  #matches(object: string, row: Row, expr: Expr): boolean {
    if ('and' in expr) return expr.and.every((e) => this.#matches(object, row, e));
    if ('or' in expr) return expr.or.some((e) => this.#matches(object, row, e));
    const actual = this.#value(object, row, expr.field);
    // SOQL compares text case-insensitively.
    const equal = typeof actual === 'string' && typeof expr.value === 'string' ? actual.toLowerCase() === expr.value.toLowerCase() : (actual ?? null) === expr.value;
    return expr.op === '=' ? equal : !equal;
  }

  #query(base: string, soql: string): Row[] {
    const { fields, object, where, limit } = parseSoql(soql);
    const schema = SCHEMA[object];
    if (!schema) throw new SoqlError('INVALID_TYPE', `sObject type '${object}' is not supported.`);
    // Salesforce checks every field when it compiles the query, whether or not a row matches.
    const check = (field: string) => {
      const [head, rest] = field.split(/\.(.*)/s) as [string, string | undefined];
      const lookup = schema.lookups[head];
      if (rest === undefined ? !schema.fields.includes(head) : !lookup || !SCHEMA[lookup.object]!.fields.includes(rest)) {
        throw new SoqlError('INVALID_FIELD', `No such column '${field}' on entity '${object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.`);
      }
    };
    const walk = (e: Expr): void => ('and' in e ? e.and.forEach(walk) : 'or' in e ? e.or.forEach(walk) : check(e.field));
    fields.forEach(check);
    if (where) walk(where);
    const attributes = (type: string, id: string) => ({ type, url: `${base}/sobjects/${type}/${id}` });
    const out: Row[] = [];
    for (const row of this.rows[object]!.values()) {
      if (where && !this.#matches(object, row, where)) continue;
      const record: Row = { attributes: attributes(object, row.Id), Id: row.Id };
      for (const field of fields) {
        const value = this.#value(object, row, field);
        const [head, rest] = field.split(/\.(.*)/s) as [string, string | undefined];
        if (rest === undefined) {
          record[head] = value;
          continue;
        }
        const lookup = schema.lookups[head]!;
        const targetId = row[lookup.key] as string | null;
        if (!targetId || !this.rows[lookup.object]!.has(targetId)) {
          record[head] = null;
          continue;
        }
        const nested = (record[head] as Record<string, unknown> | undefined) ?? { attributes: attributes(lookup.object, targetId) };
        nested[rest] = value;
        record[head] = nested;
      }
      if (!fields.includes('Id')) delete (record as Record<string, unknown>).Id;
      out.push(record);
      if (limit !== null && out.length >= limit) break;
    }
    return out;
  }
}
