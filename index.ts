// Entry: the stack name picks the wing. Stack `qa` is the cluster itself; every other stack is a feature environment
// named after its ticket. Each wing is loaded only when its stack runs, so one wing's dependencies never slow the other.
import * as pulumi from "@pulumi/pulumi";

const CLUSTER_STACK = "qa";

export = async () =>
  pulumi.getStack() === CLUSTER_STACK
    ? (await import("./cluster")).default()
    : (await import("./environments")).default();
