// Directories on the hosts that the program writes to and removes: `k3s.dataDir` (deleted with `rm -rf` when a node
// is removed) and `k3s.binDir` (where the installer puts k3s and its uninstall scripts, called by absolute path because
// sudo's secure_path on RHEL-like hosts leaves /usr/local/bin out of PATH).
import { bad } from "./messages";

/** Directories that hold the system itself: removing "the data dir" must never be one of these. */
const SYSTEM_DIRS = new Set([
  "/bin",
  "/boot",
  "/dev",
  "/etc",
  "/home",
  "/lib",
  "/lib32",
  "/lib64",
  "/media",
  "/mnt",
  "/opt",
  "/proc",
  "/root",
  "/run",
  "/sbin",
  "/srv",
  "/sys",
  "/tmp",
  "/usr",
  "/usr/bin",
  "/usr/lib",
  "/usr/local",
  "/usr/local/bin",
  "/usr/sbin",
  "/usr/share",
  "/var",
  "/var/lib",
  "/var/lib/rancher",
  "/var/log",
  "/var/tmp",
  "/data",
  "/etc/rancher",
]);

/** Absolute, from a plain alphabet, and written one way only: no `//`, `.`, `..` or trailing `/`. */
function pathRule(key: string, value: string): string | undefined {
  if (!/^\/[A-Za-z0-9._/-]*$/.test(value))
    return bad(key, value, "is not an absolute path of letters, digits and . _ / -", "use e.g. /data/k3s");
  const segments = value.slice(1).split("/");
  if (value === "/" || segments.some((s) => s === "" || s === "." || s === ".."))
    return bad(
      key,
      value,
      `is not a plain absolute path (no "//", "/./", "/../" or trailing "/")`,
      "write it like /data/k3s",
    );
  return undefined;
}

/** `k3s.dataDir`: a directory of K3s' own, since removing a node deletes it. */
export function dataDirProblem(value: string): string | undefined {
  const rule = pathRule("k3s.dataDir", value);
  if (rule) return rule;
  if (SYSTEM_DIRS.has(value))
    return bad(
      "k3s.dataDir",
      value,
      "is a system directory, and removing a node deletes the data dir with everything in it",
      "use a directory that holds only K3s' data, e.g. /data/k3s or /var/lib/rancher/k3s",
    );
  return undefined;
}

/** `k3s.binDir`: INSTALL_K3S_BIN_DIR of the upstream installer. */
export function binDirProblem(value: string): string | undefined {
  return pathRule("k3s.binDir", value);
}
