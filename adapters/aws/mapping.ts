import { AdapterError } from '../types.js';

/** `aws:account-assignment:<12-digit account>#<permission set name>`. */
export function parse(entitlement: string): { accountId: string; permissionSet: string } {
  const m = /^aws:account-assignment:(\d{12})#([\w+=,.@-]{1,32})$/.exec(entitlement);
  if (!m) {
    throw new AdapterError(`"${entitlement}" is not an AWS entitlement; expected aws:account-assignment:<12-digit account id>#<permission set name>`, { kind: 'permanent', system: 'aws' });
  }
  return { accountId: m[1]!, permissionSet: m[2]! };
}
