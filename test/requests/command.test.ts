import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAccessCommand, parseDuration } from '../../src/requests/command.js';

describe('/access command text', () => {
  it('reads each command', () => {
    expect(parseAccessCommand('')).toEqual({ kind: 'modal' });
    expect(parseAccessCommand('  help ')).toEqual({ kind: 'help' });
    expect(parseAccessCommand('mine')).toEqual({ kind: 'mine' });
    expect(parseAccessCommand('PENDING')).toEqual({ kind: 'pending' });
    expect(parseAccessCommand('release github:repo:acme/api#admin')).toEqual({ kind: 'release', entitlement: 'github:repo:acme/api#admin' });
    expect(parseAccessCommand('cancel #42')).toEqual({ kind: 'cancel', requestId: 42 });
    expect(parseAccessCommand('request aws:account-assignment:222222222222#AdministratorAccess for 4h because INC-1234 is on fire')).toEqual({
      kind: 'request',
      entitlement: 'aws:account-assignment:222222222222#AdministratorAccess',
      durationMs: 4 * 3_600_000,
      duration: '4h',
      reason: 'INC-1234 is on fire',
    });
    expect(parseAccessCommand('request github:repo:acme/api#admin for 2 days')).toMatchObject({ durationMs: 2 * 86_400_000, duration: '2d', reason: null });
    expect(parseAccessCommand('audit <@U0PRIYA|priya>')).toEqual({ kind: 'audit', slackUserId: 'U0PRIYA', email: null });
    expect(parseAccessCommand('audit Priya@Company.com')).toEqual({ kind: 'audit', slackUserId: null, email: 'priya@company.com' });
    expect(parseAccessCommand('audit @priya')).toMatchObject({ kind: 'error' });
    // Slack's escaping undone: a channel link and entities.
    expect(parseAccessCommand('request slack:channel:general because <#C024BE7LR|general> &amp; ops')).toMatchObject({ reason: '#general & ops' });
    expect(parseAccessCommand('request okta:group:finance because quarter end')).toMatchObject({ entitlement: 'okta:group:finance', durationMs: null, reason: 'quarter end' });
  });

  it('says how to write it when it cannot read it', () => {
    expect(parseAccessCommand('gimme admin')).toMatchObject({ kind: 'error', message: expect.stringContaining('"gimme" is not an /access command') });
    expect(parseAccessCommand('request')).toMatchObject({ kind: 'error', message: expect.stringContaining('say what to request') });
    expect(parseAccessCommand('request x for ever')).toMatchObject({ kind: 'error', message: '"ever" is not a duration: write it as 30m, 4h, 2d or 1w' });
    expect(parseAccessCommand('request x 4h')).toMatchObject({ kind: 'error', message: expect.stringContaining('write `for <duration>`') });
    expect(parseAccessCommand('request x because')).toMatchObject({ kind: 'error', message: 'nothing follows "because": say why you need it' });
    expect(parseAccessCommand('cancel abc')).toMatchObject({ kind: 'error' });
    expect(parseDuration('0h')).toBeNull();
    expect(parseDuration('90 minutes')).toEqual({ ms: 90 * 60_000, canonical: '90m' });
  });

  it('never throws, and every result is one of the documented kinds (property)', () => {
    const kinds = new Set(['modal', 'help', 'mine', 'pending', 'request', 'release', 'cancel', 'audit', 'error']);
    const words = fc.constantFrom('request', 'for', 'because', '4h', '2 days', 'mine', 'release', 'cancel', 'audit', '<@U0X|x>', '&amp;', '<#C1|c>', 'help', '#12', 'github:repo:acme/api#admin', ' ', '\n', 'ünïcode', '"');
    const text = fc.oneof(fc.string({ maxLength: 300 }), fc.array(words, { maxLength: 12 }).map((w) => w.join(' ')));
    fc.assert(
      fc.property(text, (raw) => {
        const result = parseAccessCommand(raw);
        expect(kinds.has(result.kind)).toBe(true);
        if (result.kind === 'request') {
          expect(result.entitlement).not.toMatch(/\s/);
          expect(result.entitlement.length).toBeGreaterThan(0);
          if (result.durationMs !== null) expect(result.durationMs).toBeGreaterThan(0);
        }
        if (result.kind === 'error') expect(result.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads what it writes: a request built from parts parses back to those parts (property)', () => {
    const entitlement = fc.stringMatching(/^[a-z]{2,8}:[a-z-]{2,10}:[A-Za-z0-9/_.-]{1,20}(#[A-Za-z]{2,12})?$/);
    const duration = fc.tuple(fc.integer({ min: 1, max: 999 }), fc.constantFrom('m', 'h', 'd', 'w'));
    const reason = fc.stringMatching(/^[A-Za-z0-9 ,.!-]{1,80}$/).filter((r) => r.trim() !== '' && !/(^|\s)because(\s|$)/i.test(r));
    fc.assert(
      fc.property(entitlement, fc.option(duration), fc.option(reason), (e, d, r) => {
        const text = `request ${e}${d ? ` for ${d[0]}${d[1]}` : ''}${r ? ` because ${r}` : ''}`;
        const parsed = parseAccessCommand(text);
        expect(parsed).toMatchObject({ kind: 'request', entitlement: e, duration: d ? `${d[0]}${d[1]}` : null, reason: r ? r.replace(/\s+/g, ' ').trim() : null });
      }),
      { numRuns: 1000 },
    );
  });
});
