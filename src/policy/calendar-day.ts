/**
 * Calendar days in a time zone. HR dates (`end_date: 2026-01-31`) name a day on the person's
 * wall calendar, so "access lasts through end_date" ends at the midnight that starts the next day
 * where the person is, not in UTC. Offsets come from the platform's time zone database through
 * `Intl.DateTimeFormat` (never a fixed number of hours), so daylight-saving changes are right.
 * Pure: no I/O, safe for the policy engine.
 */

const DAY_MS = 86_400_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})/;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** One formatter per zone (building one costs far more than using it). Throws RangeError for an unknown zone. */
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    if (formatters.size > 1_000) formatters.clear();
    formatters.set(zone, f);
  }
  return f;
}

/**
 * The IANA name for `zone` as the time zone database spells it (`australia/sydney` →
 * `Australia/Sydney`), or null when it is not a zone. Fixed offsets (`+10:00`) are refused: they
 * have no daylight saving, which is the point of naming a zone.
 */
export function canonicalTimeZone(zone: string): string | null {
  if (!/^[A-Za-z]/.test(zone)) return null;
  try {
    return formatter(zone).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** The wall clock in `zone` at `epochMs`, as if it were UTC (to second precision). */
function wallClockMs(epochMs: number, zone: string): number {
  const p: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(epochMs)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour! % 24, p.minute!, p.second!);
}

/** How far `zone`'s wall clock is ahead of UTC at `epochMs` (negative west of Greenwich), from the zone database. */
function offsetMs(epochMs: number, zone: string): number {
  const whole = Math.floor(epochMs / 1000) * 1000;
  return wallClockMs(whole, zone) - whole;
}

/** The calendar date (YYYY-MM-DD) in `zone` at `instant`. */
export function dateIn(instant: Date, zone: string): string {
  return new Date(wallClockMs(instant.getTime(), zone)).toISOString().slice(0, 10);
}

function utcMidnight(date: string): number {
  const m = DATE.exec(date);
  if (!m) throw new RangeError(`"${date}" is not a date as YYYY-MM-DD`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

/** `date` moved by whole calendar days (no time zone involved: dates are labels of days). */
export function addDays(date: string, days: number): string {
  return new Date(utcMidnight(date) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Calendar days from `from` to `to` (YYYY-MM-DD each): 2026-01-28 → 2026-01-31 is 3. */
export function daysBetween(from: string, to: string): number {
  return Math.round((utcMidnight(to) - utcMidnight(from)) / DAY_MS);
}

/**
 * The first instant of `date` in `zone`: its local midnight, or, where the clocks jump forward
 * at midnight (America/Santiago, Asia/Beirut), the instant they jump. Local midnight is at most
 * two instants, one per offset in force around it (the offsets a day before and a day after);
 * the earlier one that really shows 00:00 wins. When neither does, midnight fell in the gap and
 * the day began when the clocks jumped: under the earlier offset that is `midnight − offset`.
 */
export function startOfDayIn(date: string, zone: string): Date {
  const midnight = utcMidnight(date);
  const before = offsetMs(midnight - DAY_MS, zone);
  const after = offsetMs(midnight + DAY_MS, zone);
  const candidates = [midnight - before, midnight - after].filter((t) => wallClockMs(t, zone) === midnight).sort((a, b) => a - b);
  return new Date(candidates[0] ?? midnight - before);
}

/** The end of `date` in `zone`: the first instant of the next day. Access that ends "on" a date lasts until then. */
export function endOfDayIn(date: string, zone: string): Date {
  return startOfDayIn(addDays(date, 1), zone);
}
