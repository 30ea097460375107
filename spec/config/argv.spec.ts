// The lean command-line parser of the publish fast path.

import { expect } from "chai";
import { parseArgv } from "../../lib/config/argv.js";
import { PUBLISH_OPTIONS, SUBSCRIBE_OPTIONS } from "../../lib/config/commands.js";
import type { OptionSpecs } from "../../lib/config/spec.js";
import { UsageError } from "../../lib/errors.js";

describe("parseArgv", () => {
  it("reads string and boolean options and positionals", () => {
    const { values, positionals } = parseArgv(PUBLISH_OPTIONS, [
      "--db",
      "out.db",
      "--list=dev",
      "--quiet",
      "--max-size",
      "1MiB",
      "message.eml",
    ]);
    expect(values).to.deep.equal({ db: "out.db", list: "dev", quiet: true, "max-size": "1MiB" });
    expect(positionals).to.deep.equal(["message.eml"]);
  });

  it("leaves options that were not given out, so the environment and file can supply them", () => {
    const { values } = parseArgv(PUBLISH_OPTIONS, ["--db", "x"]);
    expect(Object.keys(values)).to.deep.equal(["db"]);
  });

  it("collects a repeatable option into an array", () => {
    const { values } = parseArgv(SUBSCRIBE_OPTIONS, ["--sink", "maildir:/a", "--sink", "mbox:/b"]);
    expect(values.sink).to.deep.equal(["maildir:/a", "mbox:/b"]);
  });

  it("honours one-letter aliases as short options", () => {
    const specs: OptionSpecs = { quiet: { type: "boolean", describe: "q", alias: "q" }, db: { type: "string", describe: "d", alias: "d" } };
    expect(parseArgv(specs, ["-q", "-d", "x.db"]).values).to.deep.equal({ quiet: true, db: "x.db" });
  });

  it("throws UsageError for an unknown option, keeping the parser's error as the cause", () => {
    let thrown: unknown;
    try {
      parseArgv(PUBLISH_OPTIONS, ["--db", "x", "--lsit", "dev"]);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).to.be.instanceOf(UsageError);
    expect((thrown as UsageError).message).to.contain("--lsit").and.to.contain("see --help");
    expect((thrown as UsageError).cause).to.be.instanceOf(Error);
  });

  it("throws UsageError for a string option without a value or a boolean given one", () => {
    expect(() => parseArgv(PUBLISH_OPTIONS, ["--db"])).to.throw(UsageError);
    expect(() => parseArgv(PUBLISH_OPTIONS, ["--quiet=yes"])).to.throw(UsageError);
  });
});
