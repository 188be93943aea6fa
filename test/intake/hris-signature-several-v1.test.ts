import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyHrisSignature } from '../../src/intake/hris-signature.js';

/**
 * Issue 17, "Inbound requests" and the surviving mutant "src/intake/hris-signature.ts
 * multi-signature handling": changing the loop over several `v1=` values (checking only the first,
 * only the last, or requiring every one to match) left every test green, and junk beside a valid
 * signature was silently skipped. The contract (ARCHITECTURE.md → HRIS webhook, README → HTTP
 * endpoints): `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, accepted when any one v1 matches; a
 * malformed part (a v1 that is not 64 hex digits, a part without `=`, an empty part), a second `t=`,
 * more than 8 signatures or a header over 1024 characters is refused; unknown keys (`v0=`, a future
 * `v2=`) are ignored, as Stripe does, so a sender can add a scheme before we check it.
 */
const SECRET = 'whsec_property_0123456789';
const NOW = 1_790_000_000;
const MAX_SIGNATURES = 8;
const MAX_HEADER_CHARS = 1024;

const mac = (secret: string, t: number, body: Uint8Array) => createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');

const bodyArb = fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b));
const timestampArb = fc.integer({ min: NOW - 300, max: NOW + 300 });
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);

/** Well-formed v1 values that do not match `(t, body)` under SECRET: what a rotating or forging sender sends. */
const wrongSignatureArb = (t: number, body: Buffer) =>
  fc
    .oneof(
      hex64,
      fc.string({ minLength: 1, maxLength: 20 }).map((other) => mac(`${SECRET}${other}`, t, body)),
      fc.integer({ min: 1, max: 1000 }).map((d) => mac(SECRET, t - d, body)),
      fc.uint8Array({ minLength: 1, maxLength: 4 }).map((extra) => mac(SECRET, t, Buffer.concat([body, extra]))),
    )
    .filter((s) => s !== mac(SECRET, t, body));

/** Parts other than t and v1 that must be ignored. */
const unknownPartArb = fc.oneof(hex64.map((h) => `v0=${h}`), fc.stringMatching(/^[A-Za-z0-9+/_-]{1,40}$/).map((v) => `v2=${v}`), fc.constant('scheme=hmac-sha256'));

/** A header from its parts: t at `tAt`, the v1 values in order, unknown parts mixed in, optional spaces after commas. */
function header(t: number, signatures: string[], tAt: number, unknown: string[], spaced: boolean): string {
  const parts = [...signatures.map((s) => `v1=${s}`), ...unknown];
  parts.splice(Math.min(tAt, parts.length), 0, `t=${t}`);
  return parts.join(spaced ? ', ' : ',');
}

const caseArb = fc.record({ t: timestampArb, body: bodyArb }).chain(({ t, body }) =>
  fc.record({
    t: fc.constant(t),
    body: fc.constant(body),
    wrong: fc.array(wrongSignatureArb(t, body), { maxLength: MAX_SIGNATURES - 1 }),
    matchAt: fc.nat(),
    tAt: fc.nat(MAX_SIGNATURES + 2),
    unknown: fc.array(unknownPartArb, { maxLength: 2 }),
    spaced: fc.boolean(),
    upper: fc.boolean(),
  }),
);

describe('Gatehouse-Signature with several v1 values', () => {
  it('property: any arrangement of wrong v1 values with exactly one matching is accepted', () => {
    fc.assert(
      fc.property(caseArb, ({ t, body, wrong, matchAt, tAt, unknown, spaced, upper }) => {
        const valid = mac(SECRET, t, body);
        const signatures = [...wrong];
        signatures.splice(matchAt % (wrong.length + 1), 0, upper ? valid.toUpperCase() : valid);
        expect(verifyHrisSignature(header(t, signatures, tAt, unknown, spaced), body, SECRET, NOW)).toEqual({ ok: true });
      }),
      { numRuns: 500 },
    );
  });

  it('property: with none matching it is refused', () => {
    fc.assert(
      fc.property(caseArb.filter((c) => c.wrong.length > 0), ({ t, body, wrong, tAt, unknown, spaced }) => {
        expect(verifyHrisSignature(header(t, wrong, tAt, unknown, spaced), body, SECRET, NOW)).toEqual({ ok: false, reason: 'signature does not match' });
      }),
      { numRuns: 500 },
    );
  });

  it('property: one malformed part anywhere refuses the header, even beside the matching v1', () => {
    const junkArb = fc.oneof(
      fc.stringMatching(/^[0-9a-f]{1,63}$/).map((h) => `v1=${h}`), // too short
      fc.stringMatching(/^[0-9a-f]{65,80}$/).map((h) => `v1=${h}`), // too long
      hex64.chain((h) => fc.nat(63).chain((at) => fc.constantFrom('g', 'z', ' x', '-', '=').map((c) => `v1=${h.slice(0, at)}${c}${h.slice(at + 1)}`))), // not hex
      fc.constantFrom('v1=', 'v1', '', ' ', '=abc', 't', 't=', 't=12a', 't=-5', 't=1.5', 't=0x10', `t=${'9'.repeat(13)}`),
      timestampArb.map((t) => `t=${t}`), // a second t, even one that is valid
    );
    fc.assert(
      fc.property(caseArb, junkArb, fc.nat(), ({ t, body, wrong, matchAt, tAt, unknown }, junk, junkAt) => {
        const signatures = [...wrong];
        signatures.splice(matchAt % (wrong.length + 1), 0, mac(SECRET, t, body));
        const parts = header(t, signatures, tAt, unknown, false).split(',');
        parts.splice(junkAt % (parts.length + 1), 0, junk);
        const check = verifyHrisSignature(parts.join(','), body, SECRET, NOW);
        expect(check.ok, `accepted with junk part ${JSON.stringify(junk)}`).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('property: never throws, whatever the header, and accepts only a header that carries the right MAC', () => {
    const fragmentArb = fc.oneof(fc.string({ maxLength: 80 }), hex64.map((h) => `v1=${h}`), timestampArb.map((t) => `t=${t}`), fc.constantFrom(',', '=', 'v1=', 't=', ' '));
    fc.assert(
      fc.property(bodyArb, timestampArb, fc.array(fragmentArb, { maxLength: 12 }), fc.boolean(), (body, t, fragments, withValid) => {
        const valid = mac(SECRET, t, body);
        const raw = fragments.join(withValid ? `,v1=${valid},` : '');
        const check = verifyHrisSignature(raw, body, SECRET, NOW);
        expect(typeof check.ok).toBe('boolean');
        if (check.ok) expect(raw.toLowerCase()).toContain(`v1=${valid}`);
        else expect(check.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 1000 },
    );
    for (const odd of [undefined, '', ',', ',,,', '=', 't=,v1=', '\u0000', 'é'.repeat(2000), `t=${NOW},${'v1=,'.repeat(500)}`]) {
      expect(verifyHrisSignature(odd, Buffer.from('{}'), SECRET, NOW).ok).toBe(false);
    }
  });

  // The mutants by name: each of these fails if only the first v1 is checked, only the last, or every one must match.
  const body = Buffer.from('{"event_type":"employee.hired"}');
  const valid = mac(SECRET, NOW, body);
  const [wrongA, wrongB] = [mac('old-secret', NOW, body), mac('older-secret', NOW, body)];
  it.each([
    ['first', [valid, wrongA]],
    ['last', [wrongA, valid]],
    ['in the middle', [wrongA, valid, wrongB]],
    ['one of the maximum 8', [wrongA, wrongB, wrongA, wrongB, wrongA, wrongB, valid, wrongA]],
  ])('accepts the matching v1 when it comes %s', (_where, signatures) => {
    expect(verifyHrisSignature(header(NOW, signatures, 0, [], false), body, SECRET, NOW)).toEqual({ ok: true });
  });

  it('refuses two wrong v1 values, and a lone wrong one', () => {
    expect(verifyHrisSignature(header(NOW, [wrongA, wrongB], 0, [], false), body, SECRET, NOW).ok).toBe(false);
    expect(verifyHrisSignature(header(NOW, [wrongA], 0, [], false), body, SECRET, NOW).ok).toBe(false);
  });

  it(`refuses more than ${MAX_SIGNATURES} v1 values and a header over ${MAX_HEADER_CHARS} characters, even with the matching one first`, () => {
    const nine = [valid, ...Array.from({ length: MAX_SIGNATURES }, (_, i) => mac(`old-${i}`, NOW, body))];
    expect(verifyHrisSignature(header(NOW, nine, 0, [], false), body, SECRET, NOW)).toMatchObject({ ok: false, reason: expect.stringContaining(`${MAX_SIGNATURES}`) });
    const padded = `${header(NOW, [valid], 0, [], false)},v2=${'a'.repeat(MAX_HEADER_CHARS)}`;
    expect(verifyHrisSignature(padded, body, SECRET, NOW)).toMatchObject({ ok: false, reason: expect.stringContaining(`${MAX_HEADER_CHARS}`) });
    // At the limits it is accepted: 8 signatures, and a header of exactly 1024 characters.
    expect(verifyHrisSignature(header(NOW, nine.slice(0, MAX_SIGNATURES), 0, [], false), body, SECRET, NOW)).toEqual({ ok: true });
    const base = header(NOW, [valid], 0, [], false);
    const exact = `${base},v2=${'a'.repeat(MAX_HEADER_CHARS - base.length - 4)}`;
    expect(exact.length).toBe(MAX_HEADER_CHARS);
    expect(verifyHrisSignature(exact, body, SECRET, NOW)).toEqual({ ok: true });
  });

  it('still refuses a matching v1 whose t is more than 300 s away, and a header without v1 or without t', () => {
    expect(verifyHrisSignature(`t=${NOW - 301},v1=${mac(SECRET, NOW - 301, body)}`, body, SECRET, NOW).ok).toBe(false);
    expect(verifyHrisSignature(`t=${NOW}`, body, SECRET, NOW).ok).toBe(false);
    expect(verifyHrisSignature(`v1=${valid}`, body, SECRET, NOW).ok).toBe(false);
    expect(verifyHrisSignature(`t=${NOW},v0=${valid}`, body, SECRET, NOW).ok).toBe(false);
  });
});
