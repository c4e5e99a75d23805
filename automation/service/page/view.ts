// What the renderers get: the driver's data, gathered once per request, and who is looking.
import type { CapacityReport, EnvironmentStatus, LogLine } from "../../observeTypes";
import type { EnvironmentSummary } from "../../types";
import type { Caller, Job } from "../contracts";

export interface FrontEnd {
  readonly label: string;
  /** A catalog service name; its link is status().appLinks[service] when it has an ingress route. */
  readonly service: string;
}

/**
 * The seed Cockpit's front-end links, mapped to environments/catalog.yaml. BUBOT has no ingress route in the catalog,
 * so it shows a link only if an environment's status carries one.
 */
export const DEFAULT_FRONT_ENDS: readonly FrontEnd[] = [
  { label: "BU-DESKTOP", service: "desktop-web" },
  { label: "CUSTOMER AREA", service: "customer-area" },
  { label: "GF-DESKTOP", service: "gf-desktop" },
  { label: "MOBILE", service: "mobile-app" },
  { label: "GF MOBILE", service: "gf-mobile" },
  { label: "BUBOT", service: "bubot" },
  { label: "BU-TARIFF ADMIN", service: "bu-tariff-admin" },
  { label: "GF-TARIFF ADMIN", service: "gf-tariff-admin" },
  { label: "TEMPLE", service: "temple" },
  { label: "WALLET", service: "wallet" },
];

export interface EnvironmentView {
  readonly summary: EnvironmentSummary;
  /** Undefined when status() failed; then `error` says why. */
  readonly status?: EnvironmentStatus;
  readonly error?: string;
}

export interface PageContext {
  readonly caller: Caller;
  /** HMAC of the session: goes into forms and the page's fetch headers. */
  readonly csrf: string;
  readonly now: Date;
  readonly jiraBrowseUrl?: string;
  readonly frontEnds: readonly FrontEnd[];
  /** How often the page refreshes its list. @default 5000 */
  readonly refreshMs?: number;
}

export interface ListView {
  readonly environments: readonly EnvironmentView[];
  readonly capacity?: CapacityReport;
  readonly capacityError?: string;
  /** Tickets whose service tables are open (the page keeps them across refreshes). */
  readonly expanded: ReadonlySet<string>;
}

export interface LogView {
  readonly ticket: string;
  readonly service: string;
  readonly previous: boolean;
  readonly tail: number;
  readonly lines: readonly LogLine[];
}

export interface JobView {
  readonly job: Job;
  readonly output: string;
}
