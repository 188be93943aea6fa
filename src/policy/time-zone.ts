import { canonicalTimeZone } from './calendar-day.js';

/**
 * Where a person's calendar days are counted when their record does not say: LOCATION_TIME_ZONES
 * and DEFAULT_TIME_ZONE, parsed (and every zone checked) once by the config.
 */
export interface TimeZoneSettings {
  /** Location (as the HRIS spells it, compared trimmed and case-insensitively) → IANA zone. */
  byLocation: ReadonlyMap<string, string>;
  /** For everyone else. */
  defaultZone: string;
}

/** No configuration: UTC for everyone whose record names no zone. */
export const UTC_ONLY: TimeZoneSettings = { byLocation: new Map(), defaultZone: 'UTC' };

/** The key a location is looked up by: HRIS exports differ in case and spacing, not in meaning. */
export function locationKey(location: string): string {
  return location.trim().toLowerCase();
}

/**
 * The one place a person's time zone is decided, for every caller (policy evaluation, intake's
 * end-date checks and jobs, contractor notices): the record's own `time_zone`, else the zone of
 * its `location`, else the default. A `time_zone` the intake schema would refuse (a record stored
 * before validation, a hand-made test record) falls through rather than throwing mid-evaluation.
 */
export function timeZoneOf(person: { time_zone?: unknown; location?: unknown; [field: string]: unknown }, settings: TimeZoneSettings = UTC_ONLY): string {
  if (typeof person.time_zone === 'string' && person.time_zone !== '') {
    const zone = canonicalTimeZone(person.time_zone);
    if (zone) return zone;
  }
  if (typeof person.location === 'string') {
    const zone = settings.byLocation.get(locationKey(person.location));
    if (zone) return zone;
  }
  return settings.defaultZone;
}
