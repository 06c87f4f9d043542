/** The benchmark message `index`: the same subject and bodies on every side, so each builds the same MIME. */
export function messageBody(index: number): { subject: string; text: string; html: string } {
  return {
    subject: `Benchmark message ${index} — Grüße`,
    text: `Hello,\n\nthis is benchmark message ${index}.\n\n${'Lorem ipsum dolor sit amet. '.repeat(20)}`,
    html: `<p>Hello,</p><p>this is benchmark message <b>${index}</b>.</p><p>${'Lorem ipsum dolor sit amet. '.repeat(20)}</p>`,
  };
}
