// List patterns for subscriber filters and per-peer authorization.

import { expect } from "chai";
import { ALL_LISTS, bothMatch, listMatcher } from "../../lib/security/list-match.js";

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
