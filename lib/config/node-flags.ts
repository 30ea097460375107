// The V8 flags the `mq-archive` executable runs with: its shebang line is
// `#!/usr/bin/env -S node` followed by these (a spec keeps the two the same),
// and `mq-archive bench` starts its roles with them, so it measures what runs.
//
// Semi-spaces of 2 MiB instead of 16: received message bodies are zero-copy
// buffers owned by libzmq, freed when their JS objects are collected. With a
// small young generation most die in the next scavenge; with the default
// they are promoted and wait for full collections, which V8 starts only
// after ~64 MB of them. Measured (`mq-archive bench --backlog --messages
// 100000`, interleaved): subscriber peak RSS 170–172 → 130–144 MiB, CPU per
// message 25.5 → 19.5–20 µs, serve's RSS lower too.

export const NODE_FLAGS: readonly string[] = ["--max-semi-space-size=2"];
