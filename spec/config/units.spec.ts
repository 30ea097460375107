// Durations and sizes as people write them in options and config files.

import { expect } from "chai";
import { formatBytes, formatDuration, parseDuration, parseSize } from "../../lib/config/units.js";

describe("parseDuration", () => {
  it("reads every unit, milliseconds by default", () => {
    expect(parseDuration("1500")).to.equal(1500);
    expect(parseDuration("250ms")).to.equal(250);
    expect(parseDuration("30s")).to.equal(30_000);
    expect(parseDuration("5m")).to.equal(300_000);
    expect(parseDuration("12h")).to.equal(43_200_000);
    expect(parseDuration("7d")).to.equal(604_800_000);
    expect(parseDuration("2w")).to.equal(1_209_600_000);
  });

  it("accepts fractions, spaces and any case", () => {
    expect(parseDuration("1.5s")).to.equal(1500);
    expect(parseDuration(" 5 m ")).to.equal(300_000);
    expect(parseDuration("10S")).to.equal(10_000);
    expect(parseDuration("3MS")).to.equal(3);
    expect(parseDuration("0")).to.equal(0);
  });

  it("takes a non-negative number as milliseconds", () => {
    expect(parseDuration(1000)).to.equal(1000);
    expect(parseDuration(0)).to.equal(0);
    expect(parseDuration(-1)).to.equal(null);
    expect(parseDuration(Number.NaN)).to.equal(null);
    expect(parseDuration(Number.POSITIVE_INFINITY)).to.equal(null);
  });

  it("returns null for anything else", () => {
    for (const bad of ["", " ", "s", "-1s", "5 minutes", "1min", "1e3", "1,5s", "5x", "1h30m", ".5s"]) {
      expect(parseDuration(bad), JSON.stringify(bad)).to.equal(null);
    }
  });
});

describe("parseSize", () => {
  it("reads binary and decimal units", () => {
    expect(parseSize("65536")).to.equal(65536);
    expect(parseSize("10B")).to.equal(10);
    expect(parseSize("10KB")).to.equal(10_000);
    expect(parseSize("10KiB")).to.equal(10_240);
    expect(parseSize("10k")).to.equal(10_240);
    expect(parseSize("64MiB")).to.equal(64 * 1024 * 1024);
    expect(parseSize("2MB")).to.equal(2_000_000);
    expect(parseSize("1m")).to.equal(1024 * 1024);
    expect(parseSize("1g")).to.equal(1024 ** 3);
    expect(parseSize("1GB")).to.equal(1e9);
    expect(parseSize("1 GiB")).to.equal(1024 ** 3);
  });

  it("rounds fractional sizes to whole bytes", () => {
    expect(parseSize("1.5k")).to.equal(1536);
    expect(parseSize("0.5KB")).to.equal(500);
  });

  it("takes a non-negative integer number as bytes", () => {
    expect(parseSize(4096)).to.equal(4096);
    expect(parseSize(1.5)).to.equal(null);
    expect(parseSize(-1)).to.equal(null);
  });

  it("returns null for anything else", () => {
    for (const bad of ["", "KB", "-1", "10TB", "10 bytes", "0x10", "1e3", "ten", "5 5"]) {
      expect(parseSize(bad), JSON.stringify(bad)).to.equal(null);
    }
  });
});

describe("formatBytes and formatDuration", () => {
  it("format bytes in binary units", () => {
    expect(formatBytes(0)).to.equal("0 B");
    expect(formatBytes(1023)).to.equal("1023 B");
    expect(formatBytes(1536)).to.equal("1.5 KiB");
    expect(formatBytes(64 * 1024 * 1024)).to.equal("64.0 MiB");
  });

  it("format durations at a useful precision", () => {
    expect(formatDuration(250)).to.equal("250ms");
    expect(formatDuration(1500)).to.equal("1.5s");
    expect(formatDuration(125_000)).to.equal("2m5s");
    expect(formatDuration(3 * 3_600_000 + 7 * 60_000)).to.equal("3h7m");
    expect(formatDuration(2 * 86_400_000 + 5 * 3_600_000)).to.equal("2d5h");
  });
});
