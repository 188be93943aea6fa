import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ActualGrant,
  assertNoDependencyCycle,
  DependencyCycleError,
  type PlannedOperation,
  planOperations,
  systemOf,
  tiers,
} from '../../src/plan/operation-graph.js';

const deps = { aws: ['okta'], salesforce: ['okta'], google: [], okta: [], github: [] };
const keys = (ops: PlannedOperation[]) => ops.map((o) => o.key);
const byKey = (ops: PlannedOperation[]) => new Map(ops.map((o) => [o.key, o]));

describe('operation graph', () => {
  it('names systems, with each SCIM app its own system', () => {
    expect(systemOf('okta:group:sales')).toBe('okta');
    expect(systemOf('aws:account-assignment:123456789012#PowerUser')).toBe('aws');
    expect(systemOf('scim:figma:group:designers')).toBe('scim:figma');
  });

  it('a joiner: accounts first (Okta before the systems provisioned from it), then grants, in tiers', () => {
    const ops = planOperations({
      active: true,
      desired: [
        { entitlement: 'aws:account-assignment:111111111111#PowerUser', source: 'policy:platform' },
        { entitlement: 'okta:group:engineering', source: 'policy:base' },
        { entitlement: 'github:repo:acme/platform-api#maintain', source: 'policy:platform' },
      ],
      actual: [],
      systemDependencies: deps,
      identityProviders: ['okta'],
    });
    const t = tiers(ops).map(keys);
    expect(t[0]).toEqual(['grant github:account', 'grant okta:account']);
    expect(t[1]).toEqual(['grant aws:account', 'grant github:repo:acme/platform-api#maintain', 'grant okta:group:engineering']);
    expect(t[2]).toEqual(['grant aws:account-assignment:111111111111#PowerUser']);
    expect(byKey(ops).get('grant aws:account')!.dependsOn).toEqual(['grant okta:account']);
  });

  it('does nothing when actual already equals desired', () => {
    const ops = planOperations({
      active: true,
      desired: [{ entitlement: 'okta:group:a', source: 'policy:p' }],
      actual: [
        { entitlement: 'okta:account', status: 'verified' },
        { entitlement: 'okta:group:a', status: 'verified' },
      ],
      systemDependencies: deps,
      identityProviders: ['okta'],
    });
    expect(ops).toEqual([]);
  });

  it('retries a failed grant and re-grants a revoked one', () => {
    const ops = planOperations({
      active: true,
      desired: [
        { entitlement: 'okta:group:a', source: 'policy:p' },
        { entitlement: 'okta:group:b', source: 'policy:p' },
      ],
      actual: [
        { entitlement: 'okta:account', status: 'verified' },
        { entitlement: 'okta:group:a', status: 'failed' },
        { entitlement: 'okta:group:b', status: 'revoked' },
      ],
      systemDependencies: deps,
      identityProviders: ['okta'],
    });
    expect(keys(ops)).toEqual(['grant okta:group:a', 'grant okta:group:b']);
  });

  it('a leaver: the IdP account is suspended first, then everything else in parallel, then other accounts', () => {
    const actual: ActualGrant[] = [
      { entitlement: 'okta:account', status: 'verified' },
      { entitlement: 'okta:group:engineering', status: 'verified' },
      { entitlement: 'github:account', status: 'verified' },
      { entitlement: 'github:repo:acme/api#write', status: 'verified' },
      { entitlement: 'slack:channel:general', status: 'applied' },
      { entitlement: 'google:group:eng@acme.com', status: 'revoked' },
    ];
    const ops = planOperations({ active: false, desired: [{ entitlement: 'okta:group:x', source: 'policy:p' }], actual, systemDependencies: deps, identityProviders: ['okta'] });
    const t = tiers(ops).map(keys);
    expect(t[0]).toEqual(['revoke okta:account']);
    expect(t[1]).toEqual(['revoke github:repo:acme/api#write', 'revoke okta:group:engineering', 'revoke slack:channel:general']);
    expect(t[2]).toEqual(['revoke github:account']);
    // Nothing desired for someone who is not active, and nothing already revoked is touched again.
    expect(ops.every((o) => o.kind === 'revoke')).toBe(true);
    expect(keys(ops)).not.toContain('revoke google:group:eng@acme.com');
  });

  it('a mover: new grants at once, old ones revoked after the overlap window', () => {
    const ops = planOperations({
      active: true,
      desired: [{ entitlement: 'github:repo:acme/new#write', source: 'policy:new-team' }],
      actual: [
        { entitlement: 'github:account', status: 'verified' },
        { entitlement: 'github:repo:acme/old#write', status: 'verified' },
      ],
      systemDependencies: deps,
      identityProviders: ['okta'],
      revokeNotBefore: '2026-12-01T00:00:00.000Z',
    });
    const map = byKey(ops);
    expect(map.get('grant github:repo:acme/new#write')!.notBefore).toBeNull();
    expect(map.get('revoke github:repo:acme/old#write')!.notBefore).toBe('2026-12-01T00:00:00.000Z');
    // The account stays: the person still has GitHub access.
    expect(map.has('revoke github:account')).toBe(false);
  });

  it('merges duplicate sources: critical wins, a permanent grant beats an expiring one', () => {
    const [, op] = planOperations({
      active: true,
      desired: [
        { entitlement: 'okta:group:a', source: 'request:1', expiresAt: '2026-12-01T00:00:00Z', critical: true },
        { entitlement: 'okta:group:a', source: 'policy:p', expiresAt: null },
      ],
      actual: [],
      systemDependencies: deps,
      identityProviders: ['okta'],
    });
    expect(op).toMatchObject({ key: 'grant okta:group:a', critical: true, expiresAt: null });
  });

  it('refuses a dependency cycle, naming it', () => {
    expect(() => assertNoDependencyCycle({ aws: ['okta'], okta: ['google'], google: ['aws'] })).toThrow(DependencyCycleError);
    try {
      assertNoDependencyCycle({ aws: ['okta'], okta: ['google'], google: ['aws'] });
    } catch (error) {
      expect((error as DependencyCycleError).cycle).toEqual(['aws', 'okta', 'google', 'aws']);
      expect((error as Error).message).toContain('aws → okta → google → aws');
    }
  });

  it('property: every dependency is in an earlier tier, and the plan does not depend on input order', () => {
    const systems = ['okta', 'google', 'aws', 'github', 'slack'];
    const entitlement = fc.tuple(fc.constantFrom(...systems), fc.constantFrom('account', 'group:a', 'group:b', 'repo:x#write')).map(([s, r]) => `${s}:${r}`);
    const status = fc.constantFrom('pending', 'applied', 'verified', 'failed', 'manual', 'revoking', 'revoked' as const);
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.uniqueArray(entitlement),
        fc.uniqueArray(fc.tuple(entitlement, status), { selector: ([e]) => e }),
        (active, desired, actual) => {
          const input = {
            active,
            desired: desired.map((e) => ({ entitlement: e, source: 'policy:p' })),
            actual: actual.map(([e, s]) => ({ entitlement: e, status: s })),
            systemDependencies: deps,
            identityProviders: ['okta'],
          };
          const ops = planOperations(input);
          const map = byKey(ops);
          for (const op of ops) for (const dep of op.dependsOn) expect(map.get(dep)!.tier).toBeLessThan(op.tier);
          if (!active) expect(ops.every((o) => o.kind === 'revoke')).toBe(true);
          const shuffled = planOperations({ ...input, desired: [...input.desired].reverse(), actual: [...input.actual].reverse() });
          expect(shuffled).toEqual(ops);
        },
      ),
      { numRuns: 300 },
    );
  });
});
