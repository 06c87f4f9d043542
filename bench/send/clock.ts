/** Milliseconds since the epoch with sub-millisecond precision, comparable between the benchmark's processes. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
