// The file backend stores objects through gocloud's fileblob, which keeps each object's metadata in a sidecar
// `<object>.attrs`. It writes the object to a temp file and renames it (atomic), but writes the sidecar in place first
// (gocloud.dev v0.46 blob/fileblob/attrs.go setAttrs: os.Create, then encode). A run SIGKILLed between the two — a
// Bamboo agent dying mid-checkpoint — leaves an empty or half-written sidecar beside a whole state file, and every
// later read of that object fails: `pulumi stack select` says "failed to load checkpoint: EOF" (seen in CI). A missing
// sidecar reads as default attributes (getAttrs), and nothing the engine reads is in it, so a sidecar that is not
// JSON is removed. A live writer is not harmed: it writes through its own open handle and renames its object after.
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The sidecars a run of the project reads: the backend's meta.yaml, the stacks' states, backups and tags, and their
 * locks. History and backups folders are left alone: no run reads them.
 */
export function projectSidecars(backendDir: string, project: string): string[] {
  const pulumi = path.join(backendDir, ".pulumi");
  return [
    path.join(pulumi, "meta.yaml.attrs"),
    ...filesBelow(path.join(pulumi, "stacks", project), false),
    ...filesBelow(path.join(pulumi, "locks", "organization", project), true),
  ].filter((file) => file.endsWith(".attrs") && fs.existsSync(file));
}

/** Whether a sidecar's text is what setAttrs writes when it completes: one JSON object. */
export function isWholeSidecar(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

/** Removes the broken ones among these sidecars; returns the files removed. */
export function removeBrokenSidecars(files: readonly string[]): string[] {
  return files.filter((file) => {
    try {
      if (isWholeSidecar(fs.readFileSync(file, "utf8"))) return false;
      fs.rmSync(file, { force: true });
      return true;
    } catch {
      return false; // gone between listing and reading: nothing to repair
    }
  });
}

function filesBelow(dir: string, recursive: boolean): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}
