// Quantities as apimachinery's resource.ParseQuantity reads them, rounded up like MilliValue()/Value().
import { expect } from "chai";
import { cpuMillis, parseQuantity, quantityValue } from "../../../environments/capacityQuantity";

describe("capacity: Kubernetes quantities", () => {
  it("reads CPU in millicores, rounding a fraction of a millicore up", () => {
    expect(cpuMillis("250m")).to.equal(250);
    expect(cpuMillis("0.5")).to.equal(500);
    expect(cpuMillis("4")).to.equal(4000);
    expect(cpuMillis("1e3")).to.equal(1_000_000);
    expect(cpuMillis("1.5e-3")).to.equal(2);
    expect(cpuMillis("100u")).to.equal(1);
    expect(cpuMillis("1n")).to.equal(1);
    expect(cpuMillis(".5")).to.equal(500);
    expect(cpuMillis("2.")).to.equal(2000);
    expect(cpuMillis("+1")).to.equal(1000);
  });

  it("reads memory with binary and decimal suffixes and exponents, rounding bytes up", () => {
    expect(quantityValue("1Gi")).to.equal(1024 ** 3);
    expect(quantityValue("512M")).to.equal(512_000_000);
    expect(quantityValue("1e3")).to.equal(1000);
    expect(quantityValue("1E3")).to.equal(1000);
    expect(parseQuantity("1E")).to.deep.equal({ numerator: 10n ** 18n, denominator: 1n });
    expect(quantityValue("1Pi")).to.equal(1024 ** 5);
    expect(() => quantityValue("1E", "memory")).to.throw(
      'memory "1E" is too large to count exactly (above 2^53 units)',
    );
    expect(quantityValue("7.8Gi")).to.equal(Math.ceil(7.8 * 1024 ** 3));
    expect(quantityValue("8178Mi")).to.equal(8178 * 1024 ** 2);
    expect(quantityValue("1.5Ki")).to.equal(1536);
    expect(quantityValue("100m")).to.equal(1);
    expect(quantityValue("1k")).to.equal(1000);
    expect(quantityValue("110")).to.equal(110);
  });

  it("is exact: no floating-point drift in sums of fractions", () => {
    expect(parseQuantity("0.1")).to.deep.equal({ numerator: 1n, denominator: 10n });
    expect(cpuMillis("0.3")).to.equal(300);
    expect(quantityValue("0.1Gi")).to.equal(Math.ceil(1024 ** 3 / 10));
  });

  for (const bad of ["", "1K", "1 Gi", "Gi", "1Gib", "1e", "1.2.3", "0x10", "1mi", "--1", "1e1.5", "１"]) {
    it(`refuses ${JSON.stringify(bad)} with the field and the accepted forms`, () => {
      expect(() => quantityValue(bad, 'node "w1" allocatable memory')).to.throw(
        `node "w1" allocatable memory "${bad}" is not a Kubernetes quantity; use a number with an optional suffix (250m, 0.5, 1Gi, 512M, 1e3)`,
      );
    });
  }
});
