// PUT/DELETE /environments/:ticket/pin through the real server, with the real pins.ts over an in-memory backend.
import { expect } from "chai";
import { pin, unpin } from "../../../automation/cleanup/pins";
import { PIN_TAGS } from "../../../automation/records";
import { fakeBackend, ours } from "../cleanup/fakes";
import { auth, harness, Harness, jobEnd } from "./fakes";

describe("QA service: pin and unpin", () => {
  let h: Harness;
  let backend: ReturnType<typeof fakeBackend>;

  beforeEach(async () => {
    backend = fakeBackend({ "verbu-6202": ours("2026-11-01T00:00:00.000Z") });
    h = await harness({
      pins: {
        pin: (ticket, by) => pin(backend.store, ticket, { by }),
        unpin: (ticket) => unpin(backend.store, ticket),
      },
    });
    const posted = await h.app.inject({
      method: "POST",
      url: "/environments",
      headers: auth("deploy"),
      payload: { ticket: "VERBU-6202" },
    });
    await jobEnd(h, posted.json().job.id); // the fake driver lists the environment from now on
  });
  afterEach(() => h.close());

  it("pins as the caller (stack tags the sweep reads), unpins, and audits both", async () => {
    const pinned = await h.app.inject({ method: "PUT", url: "/environments/verbu-6202/pin", headers: auth("deploy") });
    expect(pinned.statusCode, pinned.body).to.equal(200);
    expect(pinned.json()).to.deep.include({ ticket: "VERBU-6202", stack: "verbu-6202", pinned: true });
    expect(backend.stacks["verbu-6202"].tags[PIN_TAGS.pinnedBy]).to.equal(pinned.json().pin.pinnedBy);
    const unpinned = await h.app.inject({
      method: "DELETE",
      url: "/environments/VERBU-6202/pin",
      headers: auth("admin"),
    });
    expect(unpinned.json()).to.deep.include({ pinned: false, wasPinned: true });
    expect(backend.stacks["verbu-6202"].tags).to.not.have.property(PIN_TAGS.pinnedBy);
    const audit = await h.store.auditLog({ ticket: "VERBU-6202" });
    expect(audit.map((a) => a.action)).to.include.members([
      "PUT /environments/:ticket/pin",
      "DELETE /environments/:ticket/pin",
    ]);
  });

  it("answers 404 for a ticket without an environment, 400 for a bad one, 403 for a read token", async () => {
    const unknown = await h.app.inject({ method: "PUT", url: "/environments/VERBU-1/pin", headers: auth("deploy") });
    expect(unknown.statusCode).to.equal(404);
    expect(unknown.json().message).to.equal("VERBU-1: no environment (stack verbu-1 does not exist)");
    const bad = await h.app.inject({
      method: "PUT",
      url: "/environments/x%3B%20rm%20-rf/pin",
      headers: auth("deploy"),
    });
    expect(bad.statusCode).to.equal(400);
    const read = await h.app.inject({ method: "DELETE", url: "/environments/VERBU-6202/pin", headers: auth("read") });
    expect(read.statusCode).to.equal(403);
  });
});
