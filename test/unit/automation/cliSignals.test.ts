import { expect } from "chai";
import { EventEmitter } from "node:events";
import { cancelOnSignals } from "../../../automation/cli/signals";

describe("qa-env signals", () => {
  for (const name of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    it(`${name} aborts once, later signals are only reported, and dispose stops listening`, () => {
      const source = new EventEmitter();
      const said: string[] = [];
      const cancellation = cancelOnSignals(source, (text) => said.push(text));
      let aborts = 0;
      cancellation.signal.addEventListener("abort", () => (aborts += 1));
      expect(cancellation.signal.aborted).to.equal(false);
      source.emit(name);
      source.emit("SIGINT");
      source.emit("SIGINT");
      expect(aborts).to.equal(1);
      expect(cancellation.signal.aborted).to.equal(true);
      expect(said[0]).to.match(new RegExp(`^${name} received: stopping safely`));
      expect(said.slice(1)).to.have.length(2);
      for (const text of said.slice(1)) expect(text).to.contain("received again: still stopping safely");
      cancellation.dispose();
      for (const s of ["SIGINT", "SIGTERM", "SIGHUP"]) expect(source.listenerCount(s)).to.equal(0);
    });
  }
});
