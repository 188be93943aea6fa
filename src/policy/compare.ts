/**
 * Code-point order. Plans must sort identically on every machine, whatever its locale, and
 * `localeCompare` is both locale-dependent and (through ICU) slow in a hot loop.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
