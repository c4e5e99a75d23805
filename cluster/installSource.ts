// Where the K3s installer and binary come from, and how the hosts fetch and verify them. The installer runs as root, so
// its source is checked like a credential: https only (plain http:// only when k3s.allowHttp says the network is
// trusted), no user:password in URLs (they would sit in Pulumi.qa.yaml and the state in plain text), and optionally
// pinned by digest (get.k3s.io serves install.sh from master, so k3s.version alone does not pin the script).
import { RawConfig } from "./config";
import { bad, SOURCE } from "./messages";
import { shQuote } from "./shell";

export interface InstallSource {
  readonly installScriptUrl: string;
  /** Lower-case hex SHA-256 the fetched installer must have; undefined = not pinned. */
  readonly installScriptSha256?: string;
  /** Base of the K3s release downloads (upstream install.sh's GITHUB_URL); undefined = upstream's GitHub releases. */
  readonly binaryMirrorUrl?: string;
  readonly allowHttp: boolean;
}

const HTTP_URL = /^(https?):\/\/([^/\s'"`\\]+)(\/[^\s'"`\\]*)?$/;
const FILE_PATH = /^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/;

/** The local path of a `file:///path` URL, or undefined for http(s). */
export function localInstallerPath(url: string): string | undefined {
  return url.startsWith("file://") ? url.slice("file://".length) : undefined;
}

function urlProblems(key: string, url: string, allowHttp: boolean, allowFile: boolean, fix: string): string[] {
  if (allowFile && url.startsWith("file://")) {
    const file = url.slice("file://".length);
    if (!FILE_PATH.test(file) || file.split("/").some((s) => s === ".." || s === "."))
      return [
        bad(
          key,
          url,
          "is not a file:///absolute/path of letters, digits and . _ / -",
          "use e.g. file:///opt/k3s/install.sh",
        ),
      ];
    return [];
  }
  const match = HTTP_URL.exec(url);
  if (!match) return [bad(key, url, allowFile ? "is not an https:// or file:// URL" : "is not an https:// URL", fix)];
  const [, scheme, authority] = match;
  const problems: string[] = [];
  if (authority.includes("@"))
    problems.push(
      `${SOURCE}: ${key} contains credentials (user:password@host), which would be stored in plain text in the configuration and the state; serve it without authentication on a trusted network, or copy it to the hosts (file://)`,
    );
  if (scheme === "http" && !allowHttp)
    problems.push(
      bad(
        key,
        url,
        "uses plain http://, so anyone on the network path can replace what runs as root on every host",
        "use https://, or set k3s.allowHttp true for a trusted network (and pin k3s.installScriptSha256)",
      ),
    );
  return problems;
}

/** Reads and checks k3s.installScriptUrl, k3s.installScriptSha256, k3s.binaryMirrorUrl and k3s.allowHttp. */
export function checkInstallSource(cfg: RawConfig, defaultUrl: string, airgap: boolean): InstallSource {
  const problems = cfg.problems;
  const allowHttp = cfg.boolean("k3s.allowHttp", false);
  const installScriptUrl = cfg.string("k3s.installScriptUrl", defaultUrl);
  problems.push(
    ...urlProblems(
      "k3s.installScriptUrl",
      installScriptUrl,
      allowHttp,
      true,
      "use https://get.k3s.io, a mirror, or file:///opt/k3s/install.sh for air-gapped hosts",
    ),
  );
  if (airgap && installScriptUrl === defaultUrl)
    problems.push(
      `${SOURCE}: k3s.airgap is true but k3s.installScriptUrl is "${installScriptUrl}", which air-gapped hosts cannot reach; point it at your mirror or at a copy on the hosts (file:///opt/k3s/install.sh)`,
    );

  const sha = cfg.string("k3s.installScriptSha256");
  const installScriptSha256 = sha?.toLowerCase();
  if (installScriptSha256 !== undefined && !/^[0-9a-f]{64}$/.test(installScriptSha256))
    problems.push(
      bad(
        "k3s.installScriptSha256",
        sha,
        "is not a SHA-256 digest (64 hex digits)",
        "set it to the first word of: sha256sum install.sh",
      ),
    );

  const binaryMirrorUrl = cfg.string("k3s.binaryMirrorUrl")?.replace(/\/+$/, "");
  if (binaryMirrorUrl !== undefined) {
    problems.push(
      ...urlProblems(
        "k3s.binaryMirrorUrl",
        binaryMirrorUrl,
        allowHttp,
        false,
        "use the mirror's URL of the K3s releases, e.g. https://mirror.example.test/k3s-io/k3s/releases",
      ),
    );
    if (airgap)
      problems.push(
        `${SOURCE}: k3s.binaryMirrorUrl is set but k3s.airgap is true, and air-gapped installs download no binary; remove one of the two`,
      );
  }
  return { installScriptUrl, installScriptSha256, binaryMirrorUrl, allowHttp };
}

/** Environment the upstream installer reads for the binary source. */
export function sourceEnv(source: InstallSource): [string, string][] {
  return source.binaryMirrorUrl ? [["GITHUB_URL", source.binaryMirrorUrl]] : [];
}

/**
 * Shell lines that put the installer into "$qa_installer" (a temp file removed on exit): a file:// URL is copied as a
 * file (wget cannot read file://, and a host without curl must still work); http(s) goes through curl or wget, with
 * curl held to the allowed protocols across redirects. Then the digest is checked when pinned.
 */
export function fetchInstallerLines(source: InstallSource): string[] {
  const url = source.installScriptUrl;
  const local = localInstallerPath(url);
  const lines = [
    'qa_installer=$(mktemp "${TMPDIR:-/tmp}/qa-k8s-installer.XXXXXX")',
    `trap 'rm -f "$qa_installer"' EXIT`,
  ];
  if (local !== undefined) {
    lines.push(
      `if [ ! -f ${shQuote(local)} ]; then`,
      `  echo ${shQuote(`the K3s installer ${local} (k3s.installScriptUrl ${url}) is not a file on this host; copy it there first`)} >&2`,
      "  exit 1",
      "fi",
      `cat ${shQuote(local)} >"$qa_installer"`,
    );
  } else {
    const proto = source.allowHttp ? "=http,https" : "=https";
    lines.push(
      "if command -v curl >/dev/null 2>&1; then",
      `  curl -fsSL --retry 3 --proto ${shQuote(proto)} -o "$qa_installer" ${shQuote(url)}`,
      "elif command -v wget >/dev/null 2>&1; then",
      `  wget -q -O "$qa_installer" ${shQuote(url)}`,
      "else",
      `  echo ${shQuote(`neither curl nor wget is installed, so the K3s installer cannot be fetched from ${url}; install one, or copy the installer to the host and use a file:// URL`)} >&2`,
      "  exit 1",
      "fi",
    );
  }
  if (source.installScriptSha256) {
    const want = source.installScriptSha256;
    lines.push(
      'qa_found=$(sha256sum "$qa_installer" | cut -d " " -f 1)',
      `if [ "$qa_found" != ${shQuote(want)} ]; then`,
      `  printf '%s%s%s\\n' ${shQuote(`the K3s installer from ${url} has sha256 `)} "$qa_found" ${shQuote(
        `, but k3s.installScriptSha256 is ${want}: not running it. Check the script, then set k3s.installScriptSha256 to the digest of the one you trust`,
      )} >&2`,
      "  exit 1",
      "fi",
    );
  }
  return lines;
}
