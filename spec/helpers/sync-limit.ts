// A limit for the specs' synchronous child processes (mhonarc, perl,
// public-inbox, promtool, mount, ...): one that hangs would block mocha's
// event loop, where no test timeout can fire. Past it the child is killed
// and the call fails, naming it.

export const SYNC_CHILD = { timeout: 120_000, killSignal: "SIGKILL" } as const;
