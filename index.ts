// Entry: the stack name picks the wing. Stack `qa` is the cluster itself; every other stack is a feature environment
// named after its ticket.
import * as pulumi from "@pulumi/pulumi";

const CLUSTER_STACK = "qa";

module.exports = pulumi.getStack() === CLUSTER_STACK ? require("./cluster").default() : require("./environments").default();
