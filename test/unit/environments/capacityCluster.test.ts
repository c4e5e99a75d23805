// The cluster reader over HTTP on 127.0.0.1: a server answering the core/v1 paths the way kube-apiserver does (lists
// with metadata.continue, a 404 Status for a missing namespace), the field selector that drops terminal pods, and
// errors that name the server but never the credentials.
import { expect } from "chai";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { clusterView, loadKubeConfig } from "../../../environments/capacityCluster";

const TOKEN = "s3cret-token-for-the-test";

function kubeconfig(server: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters: [{ name: c, cluster: { server: '" + server + "', insecure-skip-tls-verify: true } }]",
    "users: [{ name: u, user: { token: " + TOKEN + " } }]",
    "contexts: [{ name: x, context: { cluster: c, user: u } }]",
    "current-context: x",
  ].join("\n");
}

describe("capacity: reading the cluster", () => {
  let server: http.Server;
  let url: string;
  const requests: string[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      requests.push(`${req.url} auth=${req.headers.authorization === `Bearer ${TOKEN}`}`);
      const u = new URL(req.url ?? "/", "http://x");
      res.setHeader("content-type", "application/json");
      if (u.pathname === "/api/v1/nodes") {
        const second = u.searchParams.get("continue") === "page-2";
        res.end(
          JSON.stringify({
            kind: "NodeList",
            apiVersion: "v1",
            metadata: second ? {} : { continue: "page-2" },
            items: [{ metadata: { name: second ? "w2" : "w1" } }],
          }),
        );
      } else if (u.pathname === "/api/v1/pods") {
        res.end(
          JSON.stringify({ kind: "PodList", apiVersion: "v1", metadata: {}, items: [{ metadata: { name: "p" } }] }),
        );
      } else if (u.pathname === "/api/v1/namespaces/verbu-1") {
        res.end(JSON.stringify({ kind: "Namespace", apiVersion: "v1", metadata: { name: "verbu-1" } }));
      } else if (u.pathname.startsWith("/api/v1/namespaces/")) {
        res.statusCode = 404;
        res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 }));
      } else {
        res.statusCode = 500;
        res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message: "boom", code: 500 }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => server.close());

  it("lists every page of nodes, pods without terminal phases, and tells existing from missing namespaces", async () => {
    const view = clusterView(loadKubeConfig(kubeconfig(url), {}));
    expect((await view.nodes()).map((n) => n.metadata?.name)).to.deep.equal(["w1", "w2"]);
    expect(await view.pods()).to.have.length(1);
    expect(await view.namespaceExists("verbu-1")).to.equal(true);
    expect(await view.namespaceExists("verbu-2")).to.equal(false);
    const pods = requests.find((r) => r.startsWith("/api/v1/pods"))!;
    expect(decodeURIComponent(pods)).to.contain("fieldSelector=status.phase!=Succeeded,status.phase!=Failed");
    expect(
      requests.every((r) => r.endsWith("auth=true")),
      "the kubeconfig's credentials are used",
    ).to.equal(true);
  });

  it("names the server, not the credentials, when the cluster cannot be read", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    const view = clusterView(loadKubeConfig(kubeconfig(`http://127.0.0.1:${port}`), {}));
    const error = (await view.nodes().catch((e: unknown) => e)) as Error;
    expect(error.message).to.match(
      new RegExp(`^capacity guard: cannot read nodes from http://127\\.0\\.0\\.1:${port} \\(`),
    );
    expect(error.message).to.contain("pulumi config set capacity.guard false");
    expect(error.message).to.not.contain(TOKEN);
  });

  it("takes the kubeconfig text, else $KUBECONFIG, and says what is missing or broken without quoting it", () => {
    expect(() => loadKubeConfig(undefined, {})).to.throw(
      "no kubeconfig for the capacity guard: set qa-k8s:kubeconfig (pulumi config set --secret kubeconfig < file) or KUBECONFIG",
    );
    expect(() => loadKubeConfig(undefined, { KUBECONFIG: "/nonexistent/kubeconfig" })).to.throw(
      'KUBECONFIG file "/nonexistent/kubeconfig" cannot be read as a kubeconfig',
    );
    const broken = `apiVersion: v1\nusers:\n  - name: u\n   user: { token: ${TOKEN} }\n`;
    let message = "";
    try {
      loadKubeConfig(broken, {});
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).to.match(/^(qa-k8s:kubeconfig is not a valid kubeconfig|the kubeconfig names no current cluster)/);
    expect(message).to.not.contain(TOKEN);
  });
});
