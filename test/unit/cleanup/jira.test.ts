import { expect } from "chai";
import { jiraDecision, parseReleasedStatuses } from "../../../automation/cleanup/jira";
import { jiraHandler } from "../../../automation/cleanup/jiraHandler";
import { BadInputError } from "../../../automation/exitCodes";

/** Jira's jira:issue_updated payload for a transition, trimmed to the fields cleanup reads (plus some it ignores). */
function transition(key: unknown, from: string, to: unknown, current: unknown = to) {
  return {
    timestamp: 1764748800000,
    webhookEvent: "jira:issue_updated",
    issue_event_type_name: "issue_generic",
    user: { name: "jane", displayName: "Jane Doe" },
    issue: { id: "25201", key, fields: { summary: "Wallet limits", status: { name: current } } },
    changelog: { id: "10400", items: [{ field: "status", fieldtype: "jira", fromString: from, toString: to }] },
  };
}

function refusal(payload: unknown): string {
  try {
    jiraDecision(payload);
  } catch (error) {
    expect(error).to.be.instanceOf(BadInputError);
    return (error as Error).message;
  }
  throw new Error("no refusal");
}

describe("jiraDecision", () => {
  it("destroys on a move to a released status, whatever its case or surrounding blanks", () => {
    expect(jiraDecision(transition("VERBU-9701", "In QA", "Done"))).to.deep.equal({
      action: "destroy",
      ticket: "VERBU-9701",
      reason: 'VERBU-9701 moved to Jira status "Done" (released: Released, Closed, Done)',
    });
    expect(jiraDecision(transition("VERBU-9701", "In QA", " rElEaSeD ")).action).to.equal("destroy");
    expect(jiraDecision(transition("verbu-9701", "Open", "CLOSED")).ticket).to.equal("VERBU-9701");
  });

  it("ignores other statuses, with the status and the released list in the reason", () => {
    expect(jiraDecision(transition("VERBU-9701", "Open", "In QA"))).to.deep.equal({
      action: "ignore",
      ticket: "VERBU-9701",
      reason: 'VERBU-9701: Jira status "In QA" is not a released status (Released, Closed, Done)',
    });
  });

  it("takes the changelog's new status over the issue's fields, and the last status item when several", () => {
    const payload = transition("VERBU-9701", "Done", "Reopened", "Done");
    expect(jiraDecision(payload).action).to.equal("ignore");
    payload.changelog.items.push({ field: "status", fieldtype: "jira", fromString: "Reopened", toString: "Done" });
    expect(jiraDecision(payload).action).to.equal("destroy");
  });

  it("ignores an update that changed something else (a Done issue edited again does not queue destroys)", () => {
    const payload = transition("VERBU-9701", "", "");
    payload.changelog.items = [{ field: "summary", fieldtype: "jira", fromString: "a", toString: "b" }];
    payload.issue.fields.status.name = "Done";
    expect(jiraDecision(payload)).to.deep.equal({
      action: "ignore",
      ticket: "VERBU-9701",
      reason: "VERBU-9701: this update did not change the status",
    });
  });

  it("without a changelog, reads the issue's status", () => {
    const payload = {
      webhookEvent: "jira:issue_updated",
      issue: { key: "VERBU-9702", fields: { status: { name: "done" } } },
    };
    expect(jiraDecision(payload).action).to.equal("destroy");
  });

  it("uses configured statuses, case-insensitively, and parses them from a setting", () => {
    const settings = { releasedStatuses: parseReleasedStatuses(" Shipped ,In Production") };
    expect(settings.releasedStatuses).to.deep.equal(["Shipped", "In Production"]);
    expect(jiraDecision(transition("VERBU-9701", "QA", "in production"), settings).action).to.equal("destroy");
    expect(jiraDecision(transition("VERBU-9701", "QA", "Done"), settings).action).to.equal("ignore");
    expect(() => parseReleasedStatuses("Done,,Closed", "QA_JIRA_RELEASED_STATUSES")).to.throw(
      BadInputError,
      'QA_JIRA_RELEASED_STATUSES "Done,,Closed" must be a comma-separated list of Jira status names, none empty (e.g. Released,Closed,Done)',
    );
  });

  it("ignores other events", () => {
    expect(jiraDecision({ webhookEvent: "jira:issue_created", issue: { key: "VERBU-9701" } })).to.deep.equal({
      action: "ignore",
      reason: 'event "jira:issue_created" is not an issue update (jira:issue_updated)',
    });
  });

  it("refuses hostile and malformed keys with the environment wing's own messages", () => {
    expect(refusal(transition("x; rm -rf /", "Open", "Done"))).to.equal(
      `Jira webhook: issue.key: ticket "x; rm -rf /" contains '/': give the Jira ticket alone (e.g. VERBU-6202), or a branch with --branch`,
    );
    expect(refusal(transition("x; rm -rf", "Open", "Done"))).to.equal(
      `Jira webhook: issue.key: stack "x; rm -rf": "x; rm -rf" cannot name a namespace: use lower-case letters, digits ` +
        `and '-', starting and ending with a letter or digit (e.g. verbu-6202)`,
    );
    expect(refusal(transition("QA", "Open", "Done"))).to.equal(
      'Jira webhook: issue.key: ticket "QA" names the cluster stack "qa"; use a Jira ticket such as VERBU-6202',
    );
    expect(refusal(transition("VERBU-1\n\u001b[2J", "Open", "Done"))).to.equal(
      'Jira webhook: issue.key "VERBU-1\\n\\u001b[2J" contains control characters',
    );
    expect(refusal(transition(42, "Open", "Done"))).to.equal(
      'Jira webhook: issue.key must be the issue\'s key as a string (e.g. "VERBU-6202"), got 42',
    );
  });

  it("refuses bodies that are not Jira's payload, naming the field", () => {
    expect(refusal(null)).to.equal("Jira webhook: the body must be a JSON object (Jira's webhook payload)");
    expect(refusal([1])).to.equal("Jira webhook: the body must be a JSON object (Jira's webhook payload)");
    expect(refusal({ issue: { key: "VERBU-1" } })).to.equal(
      'Jira webhook: webhookEvent must name the event as a string (e.g. "jira:issue_updated"), got nothing',
    );
    expect(refusal({ webhookEvent: "jira:issue_updated", issue: "VERBU-1" })).to.equal(
      'Jira webhook: issue must be an object with the issue\'s key (e.g. {"key": "VERBU-6202"})',
    );
    expect(
      refusal({ webhookEvent: "jira:issue_updated", issue: { key: "VERBU-1" }, changelog: { items: "x" } }),
    ).to.equal("Jira webhook: changelog must be an object with an items array, as Jira sends it");
    expect(refusal(transition("VERBU-1", "Open", { name: "Done" }))).to.equal(
      'Jira webhook: changelog item "status" must carry the new status name in toString, got {"name":"Done"}',
    );
    const noToString = {
      webhookEvent: "jira:issue_updated",
      issue: { key: "VERBU-1" },
      changelog: { items: [{ field: "status" }] },
    };
    expect(refusal(noToString)).to.equal(
      'Jira webhook: changelog item "status" must carry the new status name in toString, got nothing',
    );
    expect(refusal({ webhookEvent: "jira:issue_updated", issue: { key: "VERBU-1", fields: { status: {} } } })).to.equal(
      "Jira webhook: issue.fields.status.name must be the status name as a string, got nothing",
    );
    expect(refusal({ webhookEvent: "jira:issue_updated", issue: { key: "VERBU-1" } })).to.equal(
      'Jira webhook: VERBU-1: neither changelog.items (field "status") nor issue.fields.status.name gives the new status',
    );
  });
});

describe("jiraHandler", () => {
  const queued: { ticket: string; reason: string }[] = [];
  const enqueueDestroy = async (ticket: string, reason: string) => (
    queued.push({ ticket, reason }),
    { id: `job-${queued.length}` }
  );
  beforeEach(() => (queued.length = 0));

  it("queues a destroy job for a released ticket and answers with its id", async () => {
    const handle = jiraHandler({ enqueueDestroy });
    expect(await handle(transition("VERBU-9701", "QA", "Done"))).to.deep.equal({
      action: "destroy",
      ticket: "VERBU-9701",
      jobId: "job-1",
      reason: 'VERBU-9701 moved to Jira status "Done" (released: Released, Closed, Done)',
    });
    expect(queued).to.deep.equal([
      { ticket: "VERBU-9701", reason: 'VERBU-9701 moved to Jira status "Done" (released: Released, Closed, Done)' },
    ]);
  });

  it("queues nothing for an ignored event or a refused environment, and lets bad payloads throw", async () => {
    const handle = jiraHandler({
      releasedStatuses: ["Released"],
      enqueueDestroy,
      refusal: async (ticket) => (ticket === "VERBU-9703" ? "stack verbu-9703 has no qa-k8s record tags" : undefined),
    });
    expect((await handle(transition("VERBU-9701", "QA", "Done"))).action).to.equal("ignore");
    expect(await handle(transition("VERBU-9703", "QA", "Released"))).to.deep.equal({
      action: "ignore",
      ticket: "VERBU-9703",
      reason:
        'VERBU-9703 moved to Jira status "Released" (released: Released), but stack verbu-9703 has no qa-k8s record tags',
    });
    let error: unknown;
    await handle(transition("x; rm -rf /", "QA", "Released")).catch((e) => (error = e));
    expect(error).to.be.instanceOf(BadInputError);
    expect(queued).to.deep.equal([]);
  });
});
