// What a running cluster cannot change: the token its datastore is encrypted with, and the first server that holds
// that datastore. The values the cluster was created with are kept in a record in the state (see nodePool.ts).
import { SOURCE } from "./messages";

export interface ClusterIdentity {
  /** sha256 of k3s.token (the record itself is a secret too). */
  readonly tokenSha256: string;
  /** Name of servers[0]. */
  readonly firstServer: string;
}

/**
 * Problems between the recorded identity (stdout of the record, JSON; empty while the record is being created) and
 * the configured one. `recordUrn` names the record for the documented way to accept a rotated token.
 */
export function identityProblems(recorded: string | undefined, now: ClusterIdentity, recordUrn: string): string[] {
  if (!recorded || recorded.trim() === "") return [];
  let before: Partial<ClusterIdentity>;
  try {
    before = JSON.parse(recorded) as Partial<ClusterIdentity>;
  } catch {
    return [];
  }
  const problems: string[] = [];
  if (before.tokenSha256 && before.tokenSha256 !== now.tokenSha256) {
    problems.push(
      `${SOURCE}: k3s.token differs from the token this cluster was created with; K3s refuses a new token on a running ` +
        `cluster ("bootstrap data already found and encrypted with different token"); set k3s.token back to the ` +
        `previous value, or, after rotating it on the servers with "k3s token rotate", accept the new one with: ` +
        `pulumi up --replace '${recordUrn}'`,
    );
  }
  if (before.firstServer && before.firstServer !== now.firstServer) {
    problems.push(
      `${SOURCE}: servers[0] is "${now.firstServer}", but this cluster was created with first server ` +
        `"${before.firstServer}", which holds its datastore; put "${before.firstServer}" back as servers[0] and add ` +
        `other servers after it`,
    );
  }
  return problems;
}
