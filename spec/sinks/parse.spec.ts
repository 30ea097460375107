import { expect } from "chai";
import { resolve } from "node:path";
import { UsageError } from "../../lib/errors.js";
import { ExecSink } from "../../lib/sinks/exec.js";
import { HyperKittySink } from "../../lib/sinks/hyperkitty.js";
import { MaildirSink } from "../../lib/sinks/maildir.js";
import { MboxSink } from "../../lib/sinks/mbox.js";
import { parseSink } from "../../lib/sinks/parse.js";

describe("parseSink", () => {
  it("makes a maildir sink over an absolute directory", () => {
    const sink = parseSink("maildir:/srv/archive");
    expect(sink).to.be.instanceOf(MaildirSink);
    expect(sink.name).to.equal("maildir:/srv/archive");
  });

  it("resolves a relative directory against the working directory", () => {
    expect(parseSink("maildir:archive/lists").name).to.equal(`maildir:${resolve("archive/lists")}`);
    const mbox = parseSink("mbox:./mboxes");
    expect(mbox).to.be.instanceOf(MboxSink);
    expect(mbox.name).to.equal(`mbox:${resolve("mboxes")}`);
  });

  it("keeps an exec command whole, colons and spaces included", () => {
    const sink = parseSink("exec:public-inbox-mda --no-precheck || test $? = 75 && echo a:b");
    expect(sink).to.be.instanceOf(ExecSink);
    expect(sink.name).to.equal("exec:public-inbox-mda --no-precheck || test $? = 75 && echo a:b");
  });

  it("makes a hyperkitty sink over HyperKitty's base URL, which needs its key file", () => {
    const sink = parseSink("hyperkitty:https://archives.example.org/hyperkitty", { hyperkittyKeyFile: "/etc/mq-archive/hyperkitty.key" });
    expect(sink).to.be.instanceOf(HyperKittySink);
    expect(sink.name).to.equal("hyperkitty:https://archives.example.org/hyperkitty/");
    expect(() => parseSink("hyperkitty:https://archives.example.org/hyperkitty/")).to.throw(UsageError, /--hyperkitty-key-file/);
  });

  for (const spec of ["nntp:news.example.org", "Maildir:/srv", "file:/srv"]) {
    it(`refuses an unknown kind: ${spec}`, () => {
      expect(() => parseSink(spec)).to.throw(UsageError, /unknown sink/);
    });
  }

  for (const spec of ["maildir", "mbox:", "exec:   ", ""]) {
    it(`refuses a spec without an argument: ${JSON.stringify(spec)}`, () => {
      expect(() => parseSink(spec)).to.throw(UsageError, /needs an argument/);
    });
  }
});
