/** Milliseconds since the epoch with sub-millisecond precision, comparable between the benchmark's processes. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** CPU milliseconds (user + system) this process used since `since` (a process.cpuUsage() reading). */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}
