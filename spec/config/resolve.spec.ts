// Option precedence (CLI > MQ_ARCHIVE_* > config file > default), conversion,
// and errors that name where a bad value came from. Uses the real command specs.

import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { KNOWN_OPTIONS, PUBLISH_OPTIONS, SERVE_OPTIONS, SUBSCRIBE_OPTIONS } from "../../lib/config/commands.js";
import { resolveOptions, type ResolveInput } from "../../lib/config/resolve.js";
import { ConfigError, UsageError } from "../../lib/errors.js";
import { tempDir } from "../helpers/tmp.js";

function configFile(content: unknown): string {
  const path = join(tempDir(), "mq-archive.json");
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

function serve(cli: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  return resolveOptions(SERVE_OPTIONS, { command: "serve", cli, env, knownOptions: KNOWN_OPTIONS });
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
}

describe("resolveOptions", () => {
  it("fills defaults, converted to typed values", () => {
    const o = serve({ db: "out.db" });
    expect(o.db).to.equal("out.db");
    expect(o.bind).to.equal("tcp://127.0.0.1:5580");
    expect(o.insecure).to.equal(false);
    expect(o.retain).to.equal(7 * 86_400_000);
    expect(o.heartbeat).to.equal(1000);
    expect(o["log-level"]).to.equal("info");
    expect(o["pub-bind"]).to.equal(undefined);
  });

  it("takes the command line over the environment over the file over the default", () => {
    const config = configFile({ db: "file.db", retain: "3d", heartbeat: "5s", bind: "tcp://file:1" });
    const env = { MQ_ARCHIVE_DB: "env.db", MQ_ARCHIVE_RETAIN: "2d", MQ_ARCHIVE_CONFIG: config };
    const o = serve({ db: "cli.db" }, env);
    expect(o.db).to.equal("cli.db");
    expect(o.retain).to.equal(2 * 86_400_000);
    expect(o.heartbeat).to.equal(5000);
    expect(o.bind).to.equal("tcp://file:1");
    expect(o["log-level"]).to.equal("info");
  });

  it("reads --config from the command line before MQ_ARCHIVE_CONFIG", () => {
    const a = configFile({ db: "a.db" });
    const b = configFile({ db: "b.db" });
    expect(serve({ config: a }, { MQ_ARCHIVE_CONFIG: b }).db).to.equal("a.db");
  });

  it("accepts camelCase keys on the command line", () => {
    expect(serve({ db: "x", pubBind: "tcp://p:2" })["pub-bind"]).to.equal("tcp://p:2");
  });

  it("lets a command's section override top-level keys, in camelCase or kebab-case", () => {
    const config = configFile({
      db: "top.db",
      maxSize: "1KiB",
      "log-level": "warn",
      publish: { db: "publish.db", "max-size": "2KiB", list: "dev" },
      serve: { logLevel: "debug", pubBind: "tcp://s:9" },
    });
    const p = resolveOptions(PUBLISH_OPTIONS, { command: "publish", cli: { config }, env: {}, knownOptions: KNOWN_OPTIONS });
    expect(p.db).to.equal("publish.db");
    expect(p["max-size"]).to.equal(2048);
    const s = serve({ config });
    expect(s.db).to.equal("top.db");
    expect(s["log-level"]).to.equal("debug");
    expect(s["pub-bind"]).to.equal("tcp://s:9");
  });

  it("does not take command-line-only options from the file or the environment", () => {
    const config = configFile({ db: "x.db", list: "dev", file: "from-file.eml" });
    const p = resolveOptions(PUBLISH_OPTIONS, {
      command: "publish",
      cli: { config },
      env: { MQ_ARCHIVE_MBOX: "/tmp/env.mbox" },
    });
    expect(p.file).to.equal(undefined);
    expect(p.mbox).to.equal(undefined);
    expect(p.list).to.equal("dev");
  });

  it("treats empty strings and empty arrays as not given", () => {
    const o = resolveOptions(SUBSCRIBE_OPTIONS, {
      command: "subscribe",
      cli: { connect: "", state: "s.db", sink: [] },
      env: { MQ_ARCHIVE_CONNECT: "tcp://env:1", MQ_ARCHIVE_SINK: "maildir:/m" },
    });
    expect(o.connect).to.deep.equal(["tcp://env:1"]);
    expect(o.sink).to.deep.equal(["maildir:/m"]);
  });

  it("converts booleans, numbers, lists and arrays", () => {
    const o = resolveOptions(SUBSCRIBE_OPTIONS, {
      command: "subscribe",
      cli: { connect: "tcp://c:1", state: "s.db", sink: ["maildir:/a", "mbox:/b"], lists: " dev, users,,ops " },
      env: { MQ_ARCHIVE_INSECURE: "yes", MQ_ARCHIVE_EXEC_RETRIES: "3", MQ_ARCHIVE_CREDIT: "1MiB" },
    });
    expect(o.insecure).to.equal(true);
    expect(o["exec-retries"]).to.equal(3);
    expect(o.credit).to.equal(1024 * 1024);
    expect(o.lists).to.deep.equal(["dev", "users", "ops"]);
    expect(o.sink).to.deep.equal(["maildir:/a", "mbox:/b"]);
    expect(serve({ db: "x", insecure: false }, { MQ_ARCHIVE_INSECURE: "1" }).insecure).to.equal(false);
    expect(serve({ db: "x" }, { MQ_ARCHIVE_INSECURE: "0" }).insecure).to.equal(false);
  });

  it("throws UsageError when a required option is missing everywhere", () => {
    const err = thrown(() => serve({}));
    expect(err).to.be.instanceOf(UsageError);
    expect(err.message).to.contain("--db");
  });

  it("names the source of a bad value", () => {
    const cliErr = thrown(() => serve({ db: "x", retain: "forever" }));
    expect(cliErr).to.be.instanceOf(UsageError);
    expect(cliErr.message).to.contain("--retain");
    const envErr = thrown(() => serve({ db: "x" }, { MQ_ARCHIVE_HEARTBEAT: "often" }));
    expect(envErr).to.be.instanceOf(UsageError);
    expect(envErr.message).to.contain("MQ_ARCHIVE_HEARTBEAT");
    const config = configFile({ serve: { insecure: "maybe" } });
    const fileErr = thrown(() => serve({ db: "x", config }));
    expect(fileErr).to.be.instanceOf(UsageError);
    expect(fileErr.message).to.contain('"insecure"').and.to.contain(config);
    const sizeErr = thrown(() =>
      resolveOptions(PUBLISH_OPTIONS, { command: "publish", cli: { db: "x", list: "l" }, env: { MQ_ARCHIVE_MAX_SIZE: "big" } }),
    );
    expect(sizeErr.message).to.contain("MQ_ARCHIVE_MAX_SIZE");
    const numErr = thrown(() =>
      resolveOptions(SUBSCRIBE_OPTIONS, {
        command: "subscribe",
        cli: { connect: "c", state: "s", sink: ["x"], execRetries: "many" },
      } satisfies ResolveInput),
    );
    expect(numErr.message).to.contain("--exec-retries");
  });

  it("throws ConfigError for an unknown key, top-level or in a section", () => {
    const top = thrown(() => serve({ db: "x", config: configFile({ retian: "1d" }) }));
    expect(top).to.be.instanceOf(ConfigError);
    expect(top.message).to.contain("retian");
    const section = thrown(() => serve({ db: "x", config: configFile({ serve: { hearbeat: "1s" } }) }));
    expect(section).to.be.instanceOf(ConfigError);
    expect(section.message).to.contain("hearbeat");
  });

  // Regression test (fixed): lib/config/resolve.ts loadConfig treats every object-valued top-level key as a command section and skips the unknown-key check for it, so a...
  it("throws ConfigError for a section that names no command", () => {
    const err = thrown(() => serve({ db: "x", config: configFile({ serv: { retain: "1d" } }) }));
    expect(err).to.be.instanceOf(ConfigError);
  });

  it("throws ConfigError for a config file that cannot be read or is not an object", () => {
    expect(thrown(() => serve({ db: "x", config: join(tempDir(), "missing.json") }))).to.be.instanceOf(ConfigError);
    expect(thrown(() => serve({ db: "x", config: configFile("{ not json") }))).to.be.instanceOf(ConfigError);
    expect(thrown(() => serve({ db: "x", config: configFile([1, 2]) }))).to.be.instanceOf(ConfigError);
  });
});
