// A daemon's --metrics endpoint: the registry with prom-client's process
// metrics (CPU, memory, event-loop lag, GC) beside the daemon's own.

import { collectDefaultMetrics, Registry } from "prom-client";
import type { Logger } from "../log.js";
import { MetricsServer, type Health } from "./http.js";
import type { MetricsListen } from "./listen.js";

/** A registry with the process metrics; the daemon adds its own before the endpoint starts. */
export function daemonRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters, which `promtool check metrics` rejects; the same
  // numbers by type stay (nodejs_active_handles, _requests, _resources).
  for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) {
    registry.removeSingleMetric(name);
  }
  return registry;
}

/** Listen on `listen` when given (--metrics); the daemon's metrics are registered by `register`, which returns its health check. */
export async function startMetricsEndpoint(
  listen: MetricsListen | null,
  registry: Registry,
  register: () => () => Health,
  log: Logger,
): Promise<MetricsServer | null> {
  if (listen === null) return null;
  return MetricsServer.start(listen, registry, register(), log.child({ component: "metrics" }));
}
