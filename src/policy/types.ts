import type { CompiledCondition } from './condition.js';

export type DriftMode = 'alert' | 'revoke' | 'ignore';

export interface CompiledGrant {
  /** Native entitlement URI (abstract levels already translated). */
  entitlement: string;
  critical: boolean;
  drift: DriftMode;
}

export interface ApprovalStep {
  /** `any`: one approver suffices; `all`: every approver must approve. */
  mode: 'any' | 'all';
  /** `manager`, `owner`, `@usergroup` or a Slack user id. */
  approvers: string[];
}

export interface CompiledRequestable {
  entitlement: string;
  description: string | null;
  maxDuration: string | null;
  justification: 'required' | 'optional';
  approvers: ApprovalStep[];
  autoApprove: { when: CompiledCondition; maxDuration: string } | null;
}

export interface CompiledPolicy {
  name: string;
  description: string;
  owner: string;
  file: string;
  when: CompiledCondition;
  grants: CompiledGrant[];
  requestable: CompiledRequestable[];
  /** A date attribute at whose end every grant of this policy expires (contractors' end_date). */
  expires: string | null;
  moverOverlapMs: number;
  drift: DriftMode;
}

export interface CompiledConflict {
  name: string;
  entitlements: string[];
  reason: string;
  file: string;
}
