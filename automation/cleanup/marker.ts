// The managed-by markers: cleanup never destroys a stack or a namespace this tool did not create. A stack is ours when
// it carries the driver's record tags (records.ts, written after every deploy); its namespace, when the cluster has
// one of that name, must carry the label every environment's namespace gets (components/specs/namespace.ts, MANAGED_BY).
// A namespace someone made by hand under a ticket's name would otherwise go with the stack's destroy. Pure.
import { MANAGED_BY } from "../../components/specs/labels";
import type { CleanupEnvironment } from "./pins";
import type { NamespaceView } from "./store";

const [LABEL, VALUE] = Object.entries(MANAGED_BY)[0];
export const MANAGED_BY_LABEL = `${LABEL}=${VALUE}`;

/** Why this environment must not be destroyed by cleanup, or undefined when both markers say it is ours. */
export function notOursReason(
  environment: Pick<CleanupEnvironment, "stack" | "record">,
  namespaceName: string,
  namespace: NamespaceView,
): string | undefined {
  if (!environment.record) {
    return `stack ${environment.stack} has no qa-k8s record tags: not created by qa-env, never removed`;
  }
  if (namespace.state !== "present") return undefined;
  const value = namespace.labels[LABEL];
  if (value === VALUE) return undefined;
  const found = value === undefined ? "has no such label" : `has ${LABEL}=${JSON.stringify(value)}`;
  return `namespace ${namespaceName} lacks the label ${MANAGED_BY_LABEL} (it ${found}): not created by qa-k8s, never removed`;
}
