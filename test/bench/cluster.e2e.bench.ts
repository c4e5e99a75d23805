// `npm run bench:e2e` (cluster part): wall time of adding 1 agent vs adding 5 agents to the cluster stack, with the real
// engine and command provider over SSH (sshd test hosts, fake K3s installer). Agents install in parallel, so the
// ratio should stay well below 5. Printed, never asserted.
import type { UpResult } from "@pulumi/pulumi/automation";
import { editStackConfig, nodeFor, startClusterRig } from "../e2e/support/sshStack";

const ROUNDS = 2;

function changes(result: UpResult): string {
  const counts = Object.entries(result.summary.resourceChanges ?? {}).filter(([op]) => op !== "same");
  return counts.length === 0 ? "0 changed" : counts.map(([op, n]) => `${n} ${op}`).join(", ");
}

async function main() {
  const rig = await startClusterRig(6);
  try {
    const [server, ...agentHosts] = rig.hosts.hosts;
    const servers = [nodeFor(server, "k3s-server-1", { labels: { "agent-type": "server" } })];
    const agents = agentHosts.map((h, i) => nodeFor(h, `k3s-worker-${i + 1}`, { labels: { "agent-type": "worker" } }));
    const up = async (label: string | undefined, list: unknown[]): Promise<number> => {
      editStackConfig(rig.workDir, { servers, agents: list });
      const started = Date.now();
      const result = await rig.stack.up();
      const seconds = (Date.now() - started) / 1000;
      if (label) console.log(`${label.padEnd(28)} ${seconds.toFixed(1).padStart(7)} s   ${changes(result)}`);
      return seconds;
    };

    await up("first up: server only", []);
    const one: number[] = [];
    const five: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      one.push(await up(`round ${round}: add 1 agent`, agents.slice(0, 1)));
      await up(undefined, []);
      five.push(await up(`round ${round}: add 5 agents`, agents.slice(0, 5)));
      await up(undefined, []);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(`add 5 agents / add 1 agent: ${(median(five) / median(one)).toFixed(2)} (median of ${ROUNDS} rounds)`);
    const started = Date.now();
    await rig.stack.destroy();
    console.log(`${"destroy".padEnd(28)} ${((Date.now() - started) / 1000).toFixed(1).padStart(7)} s`);
  } finally {
    await rig.dispose();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
