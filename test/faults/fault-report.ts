/**
 * Every fault case ends by printing what it checked and the figure it measured, one line each,
 * e.g. `sends 300/300 delivered, 0 lost, 1 duplicated`; the README's failure table quotes them.
 * Written straight to stdout so the lines stay readable in CI output (Jest decorates console.log).
 */
export function reportFault(faultCase: string, figure: string): void {
  process.stdout.write(`[fault] ${faultCase}: ${figure}\n`);
}
