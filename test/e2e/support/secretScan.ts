// Where a secret could leak from a real-engine run, and the forms it takes there. Every file the backend holds (state,
// history, backups — gzip'd when PULUMI_DIY_BACKEND_GZIP is on), the stack outputs not marked secret, and what the
// engine printed. A secret is searched as is, in base64 (Kubernetes Secret data, a dockerconfigjson's `auth` is
// base64 of `user:password`), JSON-escaped (a PEM key inside a JSON string), and by each long line of a multi-line
// value (a key's body lines survive re-wrapping). A scan that finds nothing proves something only if it can find: the
// canary, a plain value known to be in the state, must be found in the backend files, or the scan throws.
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import type { Stack } from "@pulumi/pulumi/automation";
import type { Engine } from "./engine";

export interface SecretScan {
  readonly engine: Engine;
  /** What must not leak, by a name for the report. */
  readonly secrets: Record<string, string>;
  /** A plain value the backend's state certainly holds (a host, an image reference): the scan's positive control. */
  readonly canary: string;
  /** Everything the engine printed (onOutput), when the test collected it. */
  readonly engineOutput?: string;
  /** The stack whose outputs are checked: those not marked secret must carry no secret. */
  readonly stack?: Stack;
}

/** The ways `value` can appear in text without being encrypted, each with its kind for the report. */
export function secretForms(value: string): Map<string, string> {
  const forms = new Map<string, string>();
  const add = (form: string, kind: string) => {
    if (form.length >= 8 && !forms.has(form)) forms.set(form, kind);
  };
  add(value, "plain");
  add(Buffer.from(value).toString("base64"), "base64");
  add(JSON.stringify(value).slice(1, -1), "JSON-escaped");
  // PEM armour lines (`-----BEGIN ... KEY-----`) are public; the body lines are the secret.
  for (const line of value.split("\n").map((l) => l.trim())) {
    if (line.length >= 16 && !line.startsWith("-----")) add(line, "one line");
  }
  return forms;
}

/** Backend files with their text (gunzipped when compressed). */
export function backendTexts(engine: Engine): { file: string; text: string }[] {
  if (!fs.existsSync(engine.backendDir)) return [];
  return fs
    .readdirSync(engine.backendDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const file = path.join(entry.parentPath, entry.name);
      const raw = fs.readFileSync(file);
      const text = file.endsWith(".gz") ? zlib.gunzipSync(raw).toString("utf8") : raw.toString("utf8");
      return { file: path.relative(engine.backendDir, file), text };
    });
}

/** Every place a secret was found, as `<secret> (<form>) in <where>`; throws when the canary is not found. */
export async function secretLeaks(scan: SecretScan): Promise<string[]> {
  const texts = backendTexts(scan.engine);
  if (!texts.some(({ text }) => text.includes(scan.canary))) {
    throw new Error(`secret scan found not even its canary "${scan.canary}" in ${texts.length} backend files`);
  }
  const places = texts.map(({ file, text }) => ({ where: file, text }));
  if (scan.engineOutput !== undefined) places.push({ where: "engine output", text: scan.engineOutput });
  if (scan.stack) {
    for (const [name, output] of Object.entries(await scan.stack.outputs())) {
      if (!output.secret) places.push({ where: `stack output ${name}`, text: JSON.stringify(output.value) });
    }
  }
  const leaks: string[] = [];
  for (const [name, value] of Object.entries(scan.secrets)) {
    for (const [form, kind] of secretForms(value)) {
      for (const { where, text } of places) if (text.includes(form)) leaks.push(`${name} (${kind}) in ${where}`);
    }
  }
  return [...new Set(leaks)];
}
