// A feature environment is named after its Jira ticket: stack `verbu-6202` (or `VERBU-6202`) → namespace `verbu-6202`,
// ticket `VERBU-6202`, host `services-verbu-6202.<domain>`. Everything downstream trusts these names, so the rules live
// here, once.

import { isDns1123Label, isLabelValue, LABEL_VALUE_RULE, reservedNamespaceProblem } from "./kubernetesNames";

/** Names that identify one feature environment everywhere (namespace, host, image tag). */
export interface Feature {
  /** Lower-case DNS-1123 label: the namespace and the `<feature>` in `services-<feature>.<domain>`. */
  readonly name: string;
  /** The ticket as written in Jira and in image tags, e.g. `VERBU-6202`. */
  readonly ticket: string;
}

const HOST_PREFIX = "services-";
// A DNS label holds at most 63 characters, and the host label is `services-<feature>`.
const MAX_FEATURE_LENGTH = 63 - HOST_PREFIX.length;
// Docker tag rule: https://docs.docker.com/reference/cli/docker/image/tag/ (first char not `.` or `-`, at most 128).
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** The feature of a stack; `ticket` overrides the ticket derived from the stack name. */
export function featureFromStack(stackName: string, ticket?: string): Feature {
  // Fully-qualified stack names (`org/project/stack`) carry the feature in their last segment.
  const shortName = stackName.split("/").pop() ?? stackName;
  const name = shortName.toLowerCase();
  if (!isDns1123Label(name)) {
    throw new Error(
      `stack "${stackName}": "${name}" cannot name a namespace: use lower-case letters, digits and '-', ` +
        `starting and ending with a letter or digit (e.g. verbu-6202)`,
    );
  }
  if (name.length > MAX_FEATURE_LENGTH) {
    throw new Error(
      `stack "${stackName}": "${name}" is ${name.length} characters; the host label "${HOST_PREFIX}${name}" ` +
        `must fit in 63, so use at most ${MAX_FEATURE_LENGTH} characters`,
    );
  }
  const reserved = reservedNamespaceProblem(name);
  if (reserved) {
    throw new Error(
      `stack "${stackName}": namespace "${name}" ${reserved}; name the stack after the ticket (e.g. verbu-6202)`,
    );
  }
  const resolvedTicket = ticket ?? name.toUpperCase();
  if (!IMAGE_TAG.test(resolvedTicket)) {
    throw new Error(
      `qa-k8s:ticket "${resolvedTicket}" cannot be part of an image tag: use letters, digits, '_', '.' and '-' ` +
        `(e.g. VERBU-6202)`,
    );
  }
  // The ticket also labels the namespace (qa-k8s/ticket), and a label value is shorter and stricter than a tag.
  if (!isLabelValue(resolvedTicket)) {
    throw new Error(
      `qa-k8s:ticket "${resolvedTicket}" cannot be the value of the namespace label qa-k8s/ticket: use ${LABEL_VALUE_RULE} ` +
        `(e.g. VERBU-6202)`,
    );
  }
  return { name, ticket: resolvedTicket };
}

/** The environment's main host, `services-<feature>.<domain>`. */
export function mainHost(feature: Feature, domain: string): string {
  return `${HOST_PREFIX}${feature.name}.${domain}`;
}

/** Expands `${ticket}` in a tag pattern and checks the result is a valid image tag. */
export function tagFromPattern(pattern: string, feature: Feature, field: string): string {
  const tag = pattern.replace(/\$\{ticket\}/g, feature.ticket).replace(/\$\{feature\}/g, feature.name);
  if (!IMAGE_TAG.test(tag)) {
    throw new Error(
      `qa-k8s:${field} "${pattern}" gives the tag "${tag}", which is not a valid image tag: use letters, digits, ` +
        `'_', '.' and '-' (at most 128) and only the placeholders \${ticket} and \${feature}`,
    );
  }
  return tag;
}

// A Jira key (project key, '-', number) as a whole segment start of a branch name: `feature/VERBU-6202-some-text`,
// `VERBU-6202`, `bugfix/verbu-6202_fix`. Bamboo plan branches carry the ticket this way.
const BRANCH_TICKET = /(?:^|\/)([A-Za-z][A-Za-z0-9_]*-[0-9]+)(?=$|[-_./])/;
const MAX_BRANCH_LENGTH = 255;

/** The feature of a branch named after its ticket; throws naming the branch and the rule when it holds none. */
export function featureFromBranch(branch: string): Feature {
  // JSON.stringify shows control characters and quotes of a hostile value escaped instead of printing them raw.
  const shown = JSON.stringify(branch.length > 80 ? `${branch.slice(0, 80)}...` : branch);
  const match = branch.length <= MAX_BRANCH_LENGTH ? BRANCH_TICKET.exec(branch) : null;
  if (!match) {
    throw new Error(
      `branch ${shown} names no Jira ticket: a branch segment must start with the ticket, as in ` +
        `feature/VERBU-6202-some-text (at most ${MAX_BRANCH_LENGTH} characters); or give the ticket itself (VERBU-6202)`,
    );
  }
  const ticket = match[1].toUpperCase();
  try {
    return featureFromStack(ticket);
  } catch (error) {
    throw new Error(`branch ${shown}: ticket ${ticket}: ${(error as Error).message}`);
  }
}
