import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, timeZonesFromEnv } from '../src/config.js';

function problems(env: Record<string, string>): { variable: string; message: string }[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** Issue 17: where people's dates are counted when their record names no time_zone. */
describe('DEFAULT_TIME_ZONE and LOCATION_TIME_ZONES', () => {
  it('default to UTC and no locations', () => {
    expect(loadConfig({}).timeZones).toEqual({ byLocation: new Map(), defaultZone: 'UTC' });
  });

  it('read a JSON map of location → zone, keyed ignoring case and spaces, zones as the database spells them', () => {
    const { timeZones } = loadConfig({ DEFAULT_TIME_ZONE: ' europe/london ', LOCATION_TIME_ZONES: '{"Sydney":"Australia/Sydney","San Francisco":"america/los_angeles","Portland, OR":"America/Los_Angeles"}' });
    expect(timeZones.defaultZone).toBe('Europe/London');
    expect([...timeZones.byLocation]).toEqual([
      ['sydney', 'Australia/Sydney'],
      ['san francisco', 'America/Los_Angeles'],
      ['portland, or', 'America/Los_Angeles'],
    ]);
  });

  it('check every zone at start, naming the variable and the bad entry', () => {
    expect(problems({ DEFAULT_TIME_ZONE: 'Mars/Olympus', LOCATION_TIME_ZONES: '{"Sydney":"Australia/Sidney","Tokyo":"Asia/Tokyo","Fixed":"+10:00"}' })).toEqual([
      { variable: 'DEFAULT_TIME_ZONE', message: '"Mars/Olympus" is not an IANA time zone; use a name such as Australia/Sydney, America/New_York or UTC' },
      { variable: 'LOCATION_TIME_ZONES', message: '"Sydney": "Australia/Sidney" is not an IANA time zone; use a name such as Australia/Sydney, America/New_York or UTC' },
      { variable: 'LOCATION_TIME_ZONES', message: '"Fixed": "+10:00" is not an IANA time zone; use a name such as Australia/Sydney, America/New_York or UTC' },
    ]);
  });

  it('refuse what is not a JSON object of strings, and one place listed twice with different zones', () => {
    for (const raw of ['Sydney=Australia/Sydney', '["Australia/Sydney"]', '{"Sydney":10}']) {
      expect(problems({ LOCATION_TIME_ZONES: raw })).toEqual([{ variable: 'LOCATION_TIME_ZONES', message: expect.stringContaining('must be a JSON object of location') }]);
    }
    expect(problems({ LOCATION_TIME_ZONES: '{"Sydney":"Australia/Sydney","SYDNEY":"Asia/Tokyo"}' })).toEqual([{ variable: 'LOCATION_TIME_ZONES', message: expect.stringContaining('"SYDNEY" is listed twice') }]);
  });

  it('the CLI reads the same two variables without the rest of the configuration', () => {
    expect(timeZonesFromEnv({ NODE_ENV: 'production', DEFAULT_TIME_ZONE: 'Asia/Tokyo' })).toEqual({ byLocation: new Map(), defaultZone: 'Asia/Tokyo' });
    expect(() => timeZonesFromEnv({ DEFAULT_TIME_ZONE: 'Nowhere' })).toThrow(/DEFAULT_TIME_ZONE: "Nowhere" is not an IANA time zone/);
  });
});
