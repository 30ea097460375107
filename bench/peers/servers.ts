// Redis and RabbitMQ from Debian's packages, started on loopback in a
// temporary directory for one benchmark and stopped after it. Nothing is
// installed here: a missing server is reported with the command to install it.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Server {
  port: number;
  stop(): Promise<void>;
}

const RABBIT = "/usr/lib/rabbitmq/bin/rabbitmq-server";

export function missingServers(): string[] {
  const missing: string[] = [];
  if (spawnSync("sh", ["-c", "command -v redis-server"]).status !== 0) missing.push("redis-server");
  if (!existsSync(RABBIT)) missing.push("rabbitmq-server");
  return missing;
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`server did not open port ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function stopper(child: ChildProcess, dir: string, extra?: () => void): () => Promise<void> {
  return async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    extra?.();
    rmSync(dir, { recursive: true, force: true });
  };
}

/** redis-server with an append-only file fsync'd every second, or on every write. */
export async function startRedis(port: number, fsync: "everysec" | "always"): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), "mqa-redis-"));
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--appendfsync", fsync, "--save", "", "--daemonize", "no"],
    { stdio: "ignore" },
  );
  await waitForPort(port, child, 20_000);
  return { port, stop: stopper(child, dir) };
}

/** rabbitmq-server as this user, its node and data in a temporary directory. */
export async function startRabbit(port: number): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), "mqa-rabbit-"));
  writeFileSync(join(dir, "enabled_plugins"), "[].\n");
  const env = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: `mqabench${port}@localhost`,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(port + 1),
    RABBITMQ_MNESIA_BASE: join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: join(dir, "log"),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, "enabled_plugins"),
    RABBITMQ_CONFIG_FILE: join(dir, "rabbitmq"),
  };
  const child = spawn(RABBIT, [], { env, stdio: "ignore" });
  await waitForPort(port, child, 90_000);
  return { port, stop: stopper(child, dir, () => spawnSync("pkill", ["-f", `mqabench${port}@localhost`])) };
}
