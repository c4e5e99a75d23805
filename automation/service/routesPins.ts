// PUT/DELETE /environments/:ticket/pin: keep an environment from idle cleanup, or let it go again. Pins are stack
// tags (automation/cleanup/pins.ts), the same ones `qa-env pin` sets and the sweep and cron read. A ticket without an
// environment is a 404, as everywhere in the API.
import type { FastifyInstance } from "fastify";
import { featureOf } from "../driverInput";
import type { PinResult } from "../cleanup/pins";
import * as s from "./schemas";
import { notFound } from "./routesShared";

export interface PinDeps {
  pin(ticket: string, by: string): Promise<PinResult>;
  unpin(ticket: string): Promise<PinResult>;
}

const pinResult = {
  type: "object",
  required: ["ticket", "stack", "pinned"],
  properties: {
    ticket: { type: "string" },
    stack: { type: "string" },
    pinned: { type: "boolean" },
    wasPinned: { type: "boolean" },
    pin: {
      type: "object",
      required: ["pinnedBy", "pinnedAt"],
      properties: { pinnedBy: { type: "string" }, pinnedAt: { type: "string", format: "date-time" } },
    },
  },
} as const;

export function pinRoutes(pins: PinDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const existing = async (ticket: string) => {
      const feature = featureOf(ticket);
      const known = (await app.qaDeps.driver.list()).some((e) => e.stack === feature.name);
      if (!known) throw notFound(`${feature.ticket}: no environment (stack ${feature.name} does not exist)`);
      return feature;
    };
    const route = (summary: string) => ({
      config: { scope: "deploy" as const },
      schema: {
        summary,
        ...s.bearer("deploy"),
        params: s.ticketParams,
        response: { 200: pinResult, ...s.errors(400, 401, 403, 404) },
      },
    });
    app.put<{ Params: { ticket: string } }>(
      "/environments/:ticket/pin",
      route("Pin an environment: idle cleanup keeps it"),
      async (request) => {
        const feature = await existing(request.params.ticket);
        request.auditNote = { ticket: feature.ticket, outcome: "pinned" };
        return pins.pin(feature.ticket, request.caller!.name);
      },
    );
    app.delete<{ Params: { ticket: string } }>(
      "/environments/:ticket/pin",
      route("Unpin an environment: idle cleanup may remove it again"),
      async (request) => {
        const feature = await existing(request.params.ticket);
        request.auditNote = { ticket: feature.ticket, outcome: "unpinned" };
        return pins.unpin(feature.ticket);
      },
    );
  };
}
