// A test that needs a real program (Mailman, MHonArc, an SMTP server,
// Prometheus, ...) skips on a machine without it, and says so loudly: CI
// installs them all (.ci/run), so a skip there is a finding.

/** Skip the suite or test of `ctx` when `missing` (why the program is not usable) is set. */
export function skipWhenMissing(ctx: Mocha.Context, what: string, missing: string | null): void {
  if (missing === null || missing === undefined || missing === "") return;
  console.warn(`\n  !!! SKIPPING ${what}: ${missing}.\n`);
  ctx.skip();
}
