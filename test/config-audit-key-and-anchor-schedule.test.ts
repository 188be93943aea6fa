import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('AUDIT_KEY and AUDIT_ANCHOR_SCHEDULE', () => {
  it('anchor daily by default, take a cron or off, and refuse anything else naming the variable', () => {
    expect(loadConfig({}).auditAnchorSchedule).toBe('0 6 * * *');
    expect(loadConfig({ AUDIT_ANCHOR_SCHEDULE: '*/15 * * * *' }).auditAnchorSchedule).toBe('*/15 * * * *');
    expect(loadConfig({ AUDIT_ANCHOR_SCHEDULE: 'off' }).auditAnchorSchedule).toBe('off');
    expect(() => loadConfig({ AUDIT_ANCHOR_SCHEDULE: 'daily' })).toThrow(/AUDIT_ANCHOR_SCHEDULE: "daily" is not a cron/);
  });

  it('a key shorter than 32 characters is refused without echoing it', () => {
    expect(loadConfig({}).auditKey).toBeUndefined();
    expect(loadConfig({ AUDIT_KEY: 'x'.repeat(32) }).auditKey).toBe('x'.repeat(32));
    let error: unknown;
    try {
      loadConfig({ AUDIT_KEY: 'hunter2-short' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/AUDIT_KEY: must be at least 32 characters/);
    expect((error as Error).message).not.toContain('hunter2');
  });
});
