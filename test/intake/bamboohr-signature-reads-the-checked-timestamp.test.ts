import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyBambooSignature } from '../../src/intake/bamboohr.js';

/**
 * Issue 17: the BambooHR check read the X-BambooHR-Timestamp header twice, differently: trimmed for
 * the freshness window, as received for the HMAC. So a value with surrounding whitespace was judged
 * fresh as one value and signed as another. Surrounding whitespace is not part of a header's value
 * (RFC 9110 §5.5), and Node's parser already drops spaces and tabs; both steps now read the one
 * trimmed value, whatever reaches the function.
 */
describe('BambooHR: the timestamp that is signed is the timestamp that is checked', () => {
  const KEY = 'bamboohr-private-key-for-tests';
  const body = Buffer.from(JSON.stringify({ employees: [{ id: '1', action: 'Updated', timestamp: '2026-11-22T15:01:00+0000', fields: {} }] }));
  const now = 1_790_000_000;
  const sign = (timestamp: string) => createHmac('sha256', KEY).update(body).update(timestamp).digest('hex');

  it('accepts a header with surrounding whitespace whose trimmed value was signed', () => {
    for (const padded of [` ${now} `, `\t${now}`, `${now}\u000b`, ` ${new Date(now * 1000).toISOString()} `]) {
      expect(verifyBambooSignature(sign(padded.trim()), padded, body, KEY, now), JSON.stringify(padded)).toEqual({ ok: true });
    }
  });

  it('refuses a signature over the padded value: the window and the HMAC read the same (trimmed) value', () => {
    const padded = ` ${now} `;
    expect(verifyBambooSignature(sign(padded), padded, body, KEY, now)).toMatchObject({ ok: false, reason: expect.stringContaining('does not match') });
  });

  it('still refuses a stale timestamp however it is padded', () => {
    const stale = ` ${now - 301} `;
    expect(verifyBambooSignature(sign(stale.trim()), stale, body, KEY, now)).toMatchObject({ ok: false, reason: expect.stringContaining('300 s') });
  });
});
