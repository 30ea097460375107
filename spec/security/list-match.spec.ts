// List patterns for subscriber filters and per-peer authorization.

import { expect } from "chai";
import fc from "fast-check";
import { ALL_LISTS, bothMatch, compileGlob, listMatcher, MAX_PATTERN_LENGTH, patternsProblem } from "../../lib/security/list-match.js";

/** The backtracking reference: what a glob means, for short inputs only. */
function reference(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "s");
}

describe("listMatcher", () => {
  it("admits every list for null or a bare *", () => {
    expect(listMatcher(null)).to.equal(ALL_LISTS);
    expect(listMatcher(["dev", "*"])).to.equal(ALL_LISTS);
    expect(ALL_LISTS("anything@lists.example.org")).to.equal(true);
  });

  it("admits no list for an empty pattern set", () => {
    const match = listMatcher([]);
    expect(match("dev")).to.equal(false);
    expect(match("")).to.equal(false);
  });

  it("matches exact names exactly", () => {
    const match = listMatcher(["dev@lists.example.org", "users"]);
    expect(match("dev@lists.example.org")).to.equal(true);
    expect(match("users")).to.equal(true);
    expect(match("Users")).to.equal(false);
    expect(match("users2")).to.equal(false);
    expect(match("dev")).to.equal(false);
  });

  it("treats * as any run of characters, anchored at both ends", () => {
    const match = listMatcher(["dev-*"]);
    expect(match("dev-")).to.equal(true);
    expect(match("dev-announce")).to.equal(true);
    expect(match("dev-a.b@x")).to.equal(true);
    expect(match("xdev-a")).to.equal(false);
    expect(match("dev")).to.equal(false);
    const domain = listMatcher(["*@lists.example.org"]);
    expect(domain("dev@lists.example.org")).to.equal(true);
    expect(domain("dev@lists.example.org.evil")).to.equal(false);
  });

  it("treats ? as exactly one character", () => {
    const match = listMatcher(["team?"]);
    expect(match("team1")).to.equal(true);
    expect(match("team")).to.equal(false);
    expect(match("team12")).to.equal(false);
  });

  it("keeps regex metacharacters in names literal", () => {
    const match = listMatcher(["a.b*", "c+d?", "(x)|[y]*", "^e$*", "f{2}*", "g\\*"]);
    expect(match("a.bc")).to.equal(true);
    expect(match("axbc")).to.equal(false); // "." is a dot, not any character
    expect(match("c+dX")).to.equal(true);
    expect(match("ccdX")).to.equal(false); // "+" is a plus, not "one or more"
    expect(match("(x)|[y]z")).to.equal(true);
    expect(match("x")).to.equal(false);
    expect(match("y")).to.equal(false);
    expect(match("^e$!")).to.equal(true);
    expect(match("e")).to.equal(false);
    expect(match("f{2}1")).to.equal(true);
    expect(match("ff1")).to.equal(false);
    expect(match("g\\zz")).to.equal(true);
    // Exact names with metacharacters are literal too.
    const exact = listMatcher(["a.b"]);
    expect(exact("a.b")).to.equal(true);
    expect(exact("axb")).to.equal(false);
  });

  it("agrees with the backtracking reference on random globs and names", () => {
    const alphabet = fc.constantFrom("a", "b", "*", "?", ".");
    const text = fc.constantFrom("a", "b", ".");
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 8 }), fc.string({ unit: text, maxLength: 10 }), (glob, list) => {
        expect(compileGlob(glob)(list), `${glob} ~ ${list}`).to.equal(reference(glob).test(list));
      }),
      { numRuns: 20_000 },
    );
  });

  it("matches hostile globs against long names in linear time (they froze serve as regexes)", () => {
    // Calibrated: as a backtracking regex, "******Z" against 80 characters took 10 s here; the longest took minutes.
    const hostile = [`${"*".repeat(6)}Z`, `${"*".repeat(MAX_PATTERN_LENGTH - 1)}Z`, `${"*a".repeat(127)}Z`, `${"?*".repeat(27)}Z`];
    const ms = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e6;
    // A bound of 2 s cannot flake: these take well under a millisecond each (and the regex fails it in 10 s, not minutes).
    let started = process.hrtime.bigint();
    expect(compileGlob(hostile[0]!)("a".repeat(80))).to.equal(false);
    expect(ms(started)).to.be.below(2000);
    const match = listMatcher(hostile);
    started = process.hrtime.bigint();
    for (let i = 0; i < 200; i++) expect(match(`${"a".repeat(80 + i)}${i % 10}`)).to.equal(false);
    expect(ms(started)).to.be.below(2000);
    expect(match(`${"a".repeat(254)}Z`)).to.equal(true);
  });

  it("bounds how many patterns a set may hold and how long each may be", () => {
    expect(patternsProblem(["dev", "*-announce"])).to.equal(null);
    expect(patternsProblem(Array.from({ length: 257 }, (_, i) => `l${i}`))).to.match(/257 list patterns/);
    expect(patternsProblem(["a".repeat(256)])).to.match(/256 characters/);
    expect(patternsProblem([""])).to.match(/0 characters/);
    // 256 of 255 characters would not fit a hello's 64 KiB header: the total is bounded too.
    expect(patternsProblem(Array.from({ length: 256 }, (_, i) => `${i}`.padEnd(255, "x")))).to.match(/in all, more than 16384/);
  });

  it("admits a list that any pattern admits", () => {
    const match = listMatcher(["dev", "users-*"]);
    expect(match("dev")).to.equal(true);
    expect(match("users-de")).to.equal(true);
    expect(match("announce")).to.equal(false);
  });
});

describe("bothMatch", () => {
  it("admits only lists both matchers admit", () => {
    const both = bothMatch(listMatcher(["dev-*"]), listMatcher(["*-announce", "dev-users"]));
    expect(both("dev-announce")).to.equal(true);
    expect(both("dev-users")).to.equal(true);
    expect(both("dev-other")).to.equal(false);
    expect(both("ops-announce")).to.equal(false);
  });

  it("returns the other matcher unchanged when one admits everything", () => {
    const dev = listMatcher(["dev"]);
    expect(bothMatch(ALL_LISTS, dev)).to.equal(dev);
    expect(bothMatch(dev, listMatcher(null))).to.equal(dev);
    expect(bothMatch(ALL_LISTS, ALL_LISTS)).to.equal(ALL_LISTS);
  });

  it("admits nothing when one side admits nothing", () => {
    const none = bothMatch(listMatcher([]), listMatcher(["*"]));
    expect(none("dev")).to.equal(false);
  });
});
