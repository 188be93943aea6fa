/**
 * What every benchmark reports for `npm run bench`: one RESULT line of JSON after its human-readable
 * output, collected by bench/run-all.ts into bench/RESULTS.md.
 */
export interface BenchResult {
  name: string;
  /** What was measured, on what, with which load. */
  work: string;
  runs: number;
  /** The headline figure, with its unit, and its spread over the runs when there were several. */
  unit: string;
  median: number;
  min?: number;
  max?: number;
  /** Other figures worth a column (p99, the ratio to a limit, …). */
  notes?: string;
}

export function report(result: BenchResult): void {
  console.log(`RESULT ${JSON.stringify(result)}`);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
