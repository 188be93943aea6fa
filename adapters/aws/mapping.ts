import { AdapterError, type EntitlementType, type ParsedEntitlement, splitEntitlement } from '../types.js';

const SYSTEM = 'aws';

export const AWS_ENTITLEMENT_TYPES: EntitlementType[] = [
  { type: 'account-assignment', description: 'a permission set on one AWS account (aws:account-assignment:<account id>#<permission set name>)', levels: 'any' },
];

/** `aws:account` and `aws:account-assignment:<12-digit account>#<permission set name>`. */
export function parseAws(entitlement: string): ParsedEntitlement {
  const parsed = splitEntitlement(entitlement, SYSTEM);
  const fail = (why: string) => new AdapterError(`"${entitlement}" is not a valid AWS entitlement: ${why}`, { kind: 'permanent', system: SYSTEM });
  if (parsed.type === 'account') {
    if (parsed.resource !== null || parsed.level !== null) throw fail('aws:account takes no resource or level');
    return parsed;
  }
  if (parsed.type !== 'account-assignment') throw fail(`AWS has no type "${parsed.type}"; it has aws:account and aws:account-assignment:<account id>#<permission set>`);
  if (parsed.resource === null || !/^\d{12}$/.test(parsed.resource)) throw fail('the AWS account id is 12 digits: aws:account-assignment:123456789012#PowerUser');
  if (parsed.level === null) throw fail('name the permission set after "#": aws:account-assignment:123456789012#PowerUser');
  // Permission set names: 1-32 of [\w+=,.@-] (SSO Admin API reference, CreatePermissionSet → Name).
  if (!/^[\w+=,.@-]{1,32}$/.test(parsed.level)) throw fail(`"${parsed.level}" is not a permission set name (1-32 letters, digits and +=,.@_-)`);
  return parsed;
}

/** A grantable entitlement as SSO Admin addresses it. */
export function parse(entitlement: string): { accountId: string; permissionSet: string } {
  const parsed = parseAws(entitlement);
  if (parsed.type === 'account') {
    throw new AdapterError(`"${entitlement}" is the Identity Center user itself: it comes from the IdP (or ensureAccount), not from a grant`, { kind: 'permanent', system: SYSTEM });
  }
  return { accountId: parsed.resource!, permissionSet: parsed.level! };
}
