import { describe, expect, it } from 'vitest';
import type { ResolvedStep } from '../../src/db/schema.js';
import { stepWithNobodyElse } from '../../src/requests/approval-steps.js';

const any = (...entries: [string, string[]][]): ResolvedStep => ({ mode: 'any', approvers: entries.map(([label, users]) => ({ label, users })) });
const all = (...entries: [string, string[]][]): ResolvedStep => ({ mode: 'all', approvers: entries.map(([label, users]) => ({ label, users })) });

/**
 * Issue 27: filing refuses a request where some approval step would have nobody left who approves
 * no other step. The check is a search over who approves which step, not only "a step whose one
 * approver is the one approver of an earlier step", so these cases pin what it must see.
 */
describe('stepWithNobodyElse', () => {
  it('passes steps that different people can approve', () => {
    expect(stepWithNobodyElse([any(['manager', ['U0LEE']]), any(['@security-oncall', ['U0LEE', 'U0SEC']])])).toBeNull();
    expect(stepWithNobodyElse([any(['manager', ['U0LEE']])])).toBeNull();
    expect(stepWithNobodyElse([])).toBeNull();
  });

  it('names the step whose only approver approves an earlier one', () => {
    expect(stepWithNobodyElse([any(['manager', ['U0LEE']]), any(['@vault-owners', ['U0LEE']])])).toEqual({ step: 1, label: '@vault-owners', people: ['U0LEE'], earlier: [{ step: 0, label: 'manager' }] });
  });

  it('sees three steps over the same two people, where no step alone has a single approver', () => {
    const two: [string, string[]] = ['@pair', ['U0A', 'U0B']];
    expect(stepWithNobodyElse([any(two), any(two)])).toBeNull();
    expect(stepWithNobodyElse([any(two), any(two), any(two)])).toMatchObject({ step: 2, people: ['U0A', 'U0B'] });
  });

  it('lets one person fill several entries of one `all` step, but not a later step too', () => {
    expect(stepWithNobodyElse([all(['@leads', ['U0A']], ['@owners', ['U0A']])])).toBeNull();
    expect(stepWithNobodyElse([all(['@leads', ['U0A']], ['@owners', ['U0A', 'U0B']]), any(['@owners', ['U0A', 'U0B']])])).toBeNull();
    expect(stepWithNobodyElse([all(['@leads', ['U0A']], ['@owners', ['U0B']]), any(['@owners', ['U0A', 'U0B']])])).toMatchObject({ step: 1, earlier: [{ step: 0, label: '@leads and @owners' }] });
  });

  it('tries another assignment when the first choice blocks a later step', () => {
    // U0A first for step 1 would leave step 2 (only U0A) empty; U0B for step 1 works.
    expect(stepWithNobodyElse([any(['@pair', ['U0A', 'U0B']]), any(['@solo', ['U0A']])])).toBeNull();
  });
});
