import { expect } from "chai";
import { ConfigError } from "../../../cluster/messages";
import { problemsOf, seedConfig, server, settingsOf, worker } from "./fixtures";

const P = "Pulumi.qa.yaml: ";
const LABEL_FIX =
  "use key=value: a Kubernetes label key (optional DNS prefix/, then letters, digits, '-', '_', '.') and a value of at most 63 such characters";
const TAINT_FIX = "use key[=value]:NoSchedule, key[=value]:PreferNoSchedule or key[=value]:NoExecute";
const KEYSCAN = "ssh-keyscan -t ed25519 <host> | cut -d' ' -f2-";

/** Asserts the config yields exactly these problems. */
function expectProblems(overrides: Record<string, unknown>, expected: string[], secretKeys?: string[]) {
  expect(problemsOf({ ...seedConfig(), ...overrides }, secretKeys)).to.deep.equal(expected);
}

describe("cluster/validate", () => {
  it("accepts the seed cluster and normalises it", () => {
    const s = settingsOf(seedConfig());
    expect(s.k3s).to.include({ version: "v1.33.5+k3s1", dataDir: "/data/k3s", docker: true, kubeconfigMode: "644" });
    expect(s.servers.map((n) => [n.name, n.role, n.first, n.field])).to.deep.equal([
      ["k3s-server-1", "server", true, "servers[0]"],
    ]);
    expect(s.agents.map((n) => n.name)).to.deep.equal([
      "k3s-worker-1",
      "k3s-worker-2",
      "k3s-worker-3",
      "k3s-worker-4",
      "k3s-worker-5",
    ]);
    expect(s.agents[0].labels).to.deep.equal(["agent-type=worker"]);
    expect(s.ssh).to.deep.include({ user: "root", port: 22, dialErrorLimit: 10, perDialTimeoutSeconds: 15 });
    expect(s.rancher).to.equal(undefined);
  });

  it("throws one ConfigError listing every problem", () => {
    expect(() => settingsOf({ ...seedConfig(), "k3s.version": "1.33", "ssh.user": "Root$" }))
      .to.throw(ConfigError)
      .with.property("message")
      .that.equals(
        `${P}k3s.version "1.33" is not a K3s release tag; use the full tag, e.g. v1.33.5+k3s1\n` +
          `${P}ssh.user "Root$" is not a valid user name; use lowercase letters, digits, '_', '.' and '-', e.g. root`,
      );
  });

  describe("hosts and names", () => {
    it("refuses a host that is not a hostname or IP (shell metacharacters included)", () => {
      expectProblems({ agents: [worker(1), worker(2), worker(3, { host: "a;rm -rf /" })] }, [
        `${P}agents[2].host "a;rm -rf /" is not a valid hostname or IP address; use a DNS name or IPv4/IPv6 address`,
      ]);
      for (const host of ["$(id)", "`id`", "host name", "a\nb", "999.1.1.1", "-x", "[::1]"]) {
        expect(problemsOf({ ...seedConfig(), agents: [worker(1, { host })] }), host).to.deep.equal([
          `${P}agents[0].host ${JSON.stringify(host)} is not a valid hostname or IP address; use a DNS name or IPv4/IPv6 address`,
        ]);
      }
    });

    it("refuses IPv6 addresses with a zone, which make an invalid K3S_URL", () => {
      expectProblems(
        { servers: [server(1, { host: "fe80::1%eth0" })], agents: [worker(1, { host: "fe80::2%25eth0" })] },
        [
          `${P}servers[0].host "fe80::1%eth0" is an IPv6 address with a zone (%interface), which cannot be part of K3S_URL or --tls-san; use the machine's global IPv6 address, its IPv4 address or its DNS name`,
          `${P}agents[0].host "fe80::2%25eth0" is an IPv6 address with a zone (%interface), which cannot be part of K3S_URL or --tls-san; use the machine's global IPv6 address, its IPv4 address or its DNS name`,
        ],
      );
    });

    it("accepts DNS names, IPv4 and IPv6", () => {
      const agents = [
        worker(1, { host: "node-1.qa.example.test" }),
        worker(2, { host: "192.168.1.20" }),
        worker(3, { host: "fd00::20" }),
      ];
      expect(problemsOf({ ...seedConfig(), agents })).to.deep.equal([]);
    });

    it("refuses bad and missing node names, missing and malformed host keys, unknown fields", () => {
      expectProblems(
        {
          agents: [
            worker(1, { name: "Worker_1" }),
            { host: "10.1.1.1", hostKey: "ssh-ed25519 AAAA" },
            worker(3, { hostKey: undefined }),
            worker(4, { hostKey: "xyz" }),
            worker(5, { hostkey: "x" }),
            worker(6, { name: "$(id)" }),
          ],
        },
        [
          `${P}agents[0].name "Worker_1" is not a valid node name; use lowercase letters, digits, '-' and '.' (at most 63, starting and ending with a letter or digit)`,
          `${P}agents[1].name is not set; give every node a unique name (it becomes the Kubernetes node name)`,
          `${P}agents[2].hostKey is not set; pin the machine's SSH host key: ${KEYSCAN}`,
          `${P}agents[3].hostKey "xyz" is not an SSH public key; use the "<type> <base64>" line of: ${KEYSCAN}`,
          `${P}agents[4] has unknown field "hostkey"; known fields: name, host, hostKey, labels, taints, gone`,
          `${P}agents[5].name "$(id)" is not a valid node name; use lowercase letters, digits, '-' and '.' (at most 63, starting and ending with a letter or digit)`,
        ],
      );
    });

    it("refuses an entry that is not a map, and a missing host", () => {
      expectProblems({ agents: ["10.0.1.1", { name: "w", hostKey: worker(1).hostKey }] }, [
        `${P}agents[0] "10.0.1.1" is not a map; write {name, host, hostKey, labels, taints}`,
        `${P}agents[1].host is not set; set the machine's DNS name or IP address`,
      ]);
    });

    it("drops the comment of a host key and accepts the usual key types", () => {
      const s = settingsOf({
        ...seedConfig(),
        agents: [worker(1, { hostKey: "ecdsa-sha2-nistp256 AAAAE2VjZHNh= root@node" })],
      });
      expect(s.agents[0].hostKey).to.equal("ecdsa-sha2-nistp256 AAAAE2VjZHNh=");
    });

    it("refuses duplicate names and hosts across servers and agents", () => {
      expectProblems({ agents: [worker(1), worker(1, { host: "10.9.9.9" }), worker(3, { host: "10.0.0.10" })] }, [
        `${P}agents[1].name "k3s-worker-1" is also used by agents[0]; node names must be unique`,
        `${P}agents[2].host "10.0.0.10" is also used by servers[0]; list each machine once`,
      ]);
    });
  });

  describe("servers", () => {
    it("requires servers", () => {
      expectProblems({ servers: undefined }, [
        `${P}servers is not set; list the K3s servers, e.g. [{name: k3s-server-1, host: 10.0.0.10, hostKey: "ssh-ed25519 AAAA..."}]`,
      ]);
      expectProblems({ servers: [] }, [`${P}servers is empty; list at least one server as {name, host, hostKey}`]);
      expectProblems({ servers: "s1" }, [
        `${P}servers "s1" is not a YAML list; write servers as a YAML list (see cluster/README.section.md)`,
      ]);
    });

    it("refuses an even number of servers (etcd quorum)", () => {
      const even = `${P}servers lists 2 servers that are not gone; K3s with embedded etcd needs an odd number (1, 3, 5, ...) to keep quorum; add a server or remove one`;
      expectProblems({ servers: [server(1), server(2)] }, [even]);
      expectProblems({ servers: [server(1), server(2), server(3), server(4, { gone: true })] }, []);
      expectProblems({ servers: [server(1), server(2), server(3)] }, []);
    });

    it("refuses removing the first server", () => {
      expectProblems({ servers: [server(1, { gone: true }), server(2), server(3), server(4)] }, [
        `${P}servers[0].gone is true, but the first server holds the cluster's datastore and cannot be removed; keep it running, or rebuild the cluster`,
      ]);
    });
  });

  describe("labels and taints", () => {
    it("accepts maps and key=value lists, prefixed keys and empty values", () => {
      const s = settingsOf({
        ...seedConfig(),
        agents: [
          worker(1, {
            labels: { "node-role.kubernetes.io/worker": "true", empty: "" },
            taints: ["dedicated=ci:NoSchedule", "spot:PreferNoSchedule"],
          }),
        ],
      });
      expect(s.agents[0].labels).to.deep.equal(["node-role.kubernetes.io/worker=true", "empty="]);
      expect(s.agents[0].taints).to.deep.equal(["dedicated=ci:NoSchedule", "spot:PreferNoSchedule"]);
    });

    it("refuses bad labels, taints and gone flags with the field that holds them", () => {
      expectProblems(
        {
          agents: [
            worker(1, { labels: { "a b": "c" }, taints: ["x", "key=v:NoSchedule"] }),
            worker(2, { labels: ["ok=1", "bad", "k=$(id)"], taints: "t" }),
            worker(3, { gone: "yes", labels: 5 }),
            worker(4, { taints: ["k=v:Sometimes"] }),
          ],
        },
        [
          `${P}agents[0].labels["a b"] "a b=c" is not a valid node label; ${LABEL_FIX}`,
          `${P}agents[0].taints[0] "x" is not a valid taint; ${TAINT_FIX}`,
          `${P}agents[1].labels[1] "bad" is not a valid node label; ${LABEL_FIX}`,
          `${P}agents[1].labels[2] "k=$(id)" is not a valid node label; ${LABEL_FIX}`,
          `${P}agents[1].taints "t" is not a list; write taints as ["key=value:NoSchedule"]`,
          `${P}agents[2].gone "yes" is not a boolean; use true or false`,
          `${P}agents[2].labels 5 is not a map or list; write labels as {key: value} or ["key=value"]`,
          `${P}agents[3].taints[0] "k=v:Sometimes" is not a valid taint; ${TAINT_FIX}`,
        ],
      );
    });
  });

  describe("k3s", () => {
    it("checks version, token, data dir, kubeconfig mode and booleans", () => {
      expectProblems(
        {
          "k3s.version": "1.33",
          "k3s.token": undefined,
          "k3s.dataDir": "data",
          "k3s.kubeconfigMode": "rw",
          "k3s.docker": "yes",
        },
        [
          `${P}k3s.version "1.33" is not a K3s release tag; use the full tag, e.g. v1.33.5+k3s1`,
          `${P}k3s.token is not set; generate one: pulumi config set --secret k3s.token "$(openssl rand -hex 32)"`,
          `${P}k3s.dataDir "data" is not an absolute path of letters, digits and . _ / -; use e.g. /data/k3s`,
          `${P}k3s.kubeconfigMode "rw" is not an octal file mode; use e.g. 600 or 644`,
          `${P}k3s.docker "yes" is not a boolean; use true or false`,
        ],
      );
      expectProblems({ "k3s.version": "v1.34.0-rc1+k3s1" }, []);
    });

    it("refuses a data dir that removing a node would wipe the system with, or that is written ambiguously", () => {
      const SYSTEM = `is a system directory, and removing a node deletes the data dir with everything in it; use a directory that holds only K3s' data, e.g. /data/k3s or /var/lib/rancher/k3s`;
      const PLAIN = `is not a plain absolute path (no "//", "/./", "/../" or trailing "/"); write it like /data/k3s`;
      const ALPHABET = "is not an absolute path of letters, digits and . _ / -; use e.g. /data/k3s";
      const cases: [string, string][] = [
        ["/", PLAIN],
        ["//", PLAIN],
        ["/etc", SYSTEM],
        ["/usr", SYSTEM],
        ["/var", SYSTEM],
        ["/home", SYSTEM],
        ["/var/lib", SYSTEM],
        ["/usr/local/bin", SYSTEM],
        ["/data/../etc", PLAIN],
        ["/data/./k3s", PLAIN],
        ["/data//k3s", PLAIN],
        ["/data/k3s/", PLAIN],
        ["data/k3s", ALPHABET],
        ["../k3s", ALPHABET],
        ["/data/k3s;rm -rf /", ALPHABET],
        ["/data/k3s\n", ALPHABET],
        ["/data/k3s ", ALPHABET],
      ];
      for (const [dir, rule] of cases)
        expect(problemsOf({ ...seedConfig(), "k3s.dataDir": dir }), dir).to.deep.equal([
          `${P}k3s.dataDir ${JSON.stringify(dir)} ${rule}`,
        ]);
      for (const dir of ["/data/k3s", "/var/lib/rancher/k3s", "/srv/k3s", "/opt/k3s-data"])
        expectProblems({ "k3s.dataDir": dir }, []);
    });

    it("checks k3s.binDir like a path, and accepts the upstream defaults", () => {
      expectProblems({ "k3s.binDir": "/opt/bin/" }, [
        `${P}k3s.binDir "/opt/bin/" is not a plain absolute path (no "//", "/./", "/../" or trailing "/"); write it like /data/k3s`,
      ]);
      expectProblems({ "k3s.binDir": "bin" }, [
        `${P}k3s.binDir "bin" is not an absolute path of letters, digits and . _ / -; use e.g. /data/k3s`,
      ]);
      for (const dir of ["/usr/local/bin", "/opt/bin", "/usr/bin"]) expectProblems({ "k3s.binDir": dir }, []);
    });

    it("never shows the token in a message", () => {
      expectProblems({ "k3s.token": "short" }, [
        `${P}k3s.token (secret, not shown) has 5 characters, fewer than 16; generate a longer one: openssl rand -hex 32`,
      ]);
      expectProblems({ "k3s.token": "this has spaces in it!!" }, [
        `${P}k3s.token (secret, not shown) contains characters other than letters, digits and . _ ~ : + / = @ % -; generate one with openssl rand -hex 32`,
      ]);
    });

    it("checks extra flags: one flag per item, safe characters, not a managed flag", () => {
      expectProblems(
        {
          "k3s.extraServerArgs": ["--disable=traefik", "--foo bar", "--data-dir=/x", "--token=x", "--x=$(id)"],
          "k3s.extraAgentArgs": "x",
        },
        [
          `${P}k3s.extraServerArgs[1] "--foo bar" is not a single --flag or --flag=value of letters, digits and = , : . _ / @ + % -; write one flag per list item, e.g. --disable=traefik`,
          `${P}k3s.extraServerArgs[2] "--data-dir=/x" sets a flag this program manages; use k3s.dataDir instead`,
          `${P}k3s.extraServerArgs[3] "--token=x" sets a flag this program manages; use k3s.token instead`,
          `${P}k3s.extraServerArgs[4] "--x=$(id)" is not a single --flag or --flag=value of letters, digits and = , : . _ / @ + % -; write one flag per list item, e.g. --disable=traefik`,
          `${P}k3s.extraAgentArgs "x" is not a YAML list; write k3s.extraAgentArgs as a YAML list (see cluster/README.section.md)`,
        ],
      );
    });

    it("checks the installer URL, and that air-gapped hosts do not use get.k3s.io", () => {
      expectProblems({ "k3s.installScriptUrl": "ftp://x" }, [
        `${P}k3s.installScriptUrl "ftp://x" is not an https:// or file:// URL; use https://get.k3s.io, a mirror, or file:///opt/k3s/install.sh for air-gapped hosts`,
      ]);
      expectProblems({ "k3s.airgap": true }, [
        `${P}k3s.airgap is true but k3s.installScriptUrl is "https://get.k3s.io", which air-gapped hosts cannot reach; point it at your mirror or at a copy on the hosts (file:///opt/k3s/install.sh)`,
      ]);
      expectProblems({ "k3s.airgap": true, "k3s.installScriptUrl": "file:///opt/k3s/install.sh" }, []);
      expectProblems({ "k3s.installScriptUrl": "http://127.0.0.1:8080/install.sh", "k3s.allowHttp": true }, []);
    });

    it("refuses plain http:// unless k3s.allowHttp, and credentials in installer and mirror URLs", () => {
      const HTTP =
        "uses plain http://, so anyone on the network path can replace what runs as root on every host; use https://, or set k3s.allowHttp true for a trusted network (and pin k3s.installScriptSha256)";
      expectProblems({ "k3s.installScriptUrl": "http://mirror.example.test/install.sh" }, [
        `${P}k3s.installScriptUrl "http://mirror.example.test/install.sh" ${HTTP}`,
      ]);
      expectProblems({ "k3s.binaryMirrorUrl": "http://mirror.example.test/k3s" }, [
        `${P}k3s.binaryMirrorUrl "http://mirror.example.test/k3s" ${HTTP}`,
      ]);
      const creds = (key: string) =>
        `${P}${key} contains credentials (user:password@host), which would be stored in plain text in the configuration and the state; serve it without authentication on a trusted network, or copy it to the hosts (file://)`;
      expectProblems(
        {
          "k3s.installScriptUrl": "https://ci:hunter2@mirror.example.test/install.sh",
          "k3s.binaryMirrorUrl": "https://token@mirror.example.test/k3s",
        },
        [creds("k3s.installScriptUrl"), creds("k3s.binaryMirrorUrl")],
      );
      expectProblems({ "k3s.binaryMirrorUrl": "file:///opt/k3s" }, [
        `${P}k3s.binaryMirrorUrl "file:///opt/k3s" is not an https:// URL; use the mirror's URL of the K3s releases, e.g. https://mirror.example.test/k3s-io/k3s/releases`,
      ]);
      expectProblems({ "k3s.installScriptUrl": "file://host/opt/install.sh" }, [
        `${P}k3s.installScriptUrl "file://host/opt/install.sh" is not a file:///absolute/path of letters, digits and . _ / -; use e.g. file:///opt/k3s/install.sh`,
      ]);
      expectProblems(
        {
          "k3s.airgap": true,
          "k3s.installScriptUrl": "file:///opt/k3s/install.sh",
          "k3s.binaryMirrorUrl": "https://m.example.test/k3s",
        },
        [
          `${P}k3s.binaryMirrorUrl is set but k3s.airgap is true, and air-gapped installs download no binary; remove one of the two`,
        ],
      );
      expectProblems({ "k3s.binaryMirrorUrl": "https://mirror.example.test/k3s-io/k3s/releases" }, []);
    });

    it("checks k3s.installScriptSha256 is a SHA-256 digest", () => {
      expectProblems({ "k3s.installScriptSha256": "abc" }, [
        `${P}k3s.installScriptSha256 "abc" is not a SHA-256 digest (64 hex digits); set it to the first word of: sha256sum install.sh`,
      ]);
      expect(
        settingsOf({ ...seedConfig(), "k3s.installScriptSha256": "AB".repeat(32) }).k3s.installScriptSha256,
      ).to.equal("ab".repeat(32));
    });

    it("refuses k3s.registries with docker: true (registries.yaml configures containerd, not Docker)", () => {
      const registries = { mirrors: { "docker.io": { endpoint: ["https://nexus.example.test:5000"] } } };
      expectProblems({ "k3s.docker": true, "k3s.registries": registries }, [
        `${P}k3s.registries is set but k3s.docker is true; K3s writes registries.yaml into its containerd configuration, which Docker does not read, so the mirrors and credentials would be silently ignored; configure the registries in Docker (/etc/docker/daemon.json, docker login) and remove k3s.registries, or set k3s.docker false`,
      ]);
      expectProblems({ "k3s.docker": false, "k3s.registries": registries }, []);
    });

    it("refuses extra flags that rename the node, in every form", () => {
      const RENAME =
        "renames the node, but the program finds each node by its configured name (labels, drain, removal); remove it and set the name in servers[].name / agents[].name";
      expectProblems(
        {
          "k3s.extraAgentArgs": ["--with-node-id", "--node-name=x", "--node-name"],
          "k3s.extraServerArgs": ["--with-node-id=true"],
        },
        [
          `${P}k3s.extraServerArgs[0] "--with-node-id=true" ${RENAME}`,
          `${P}k3s.extraAgentArgs[0] "--with-node-id" ${RENAME}`,
          `${P}k3s.extraAgentArgs[1] "--node-name=x" ${RENAME}`,
          `${P}k3s.extraAgentArgs[2] "--node-name" ${RENAME}`,
        ],
      );
    });

    it("checks numbers against their range", () => {
      expectProblems({ "k3s.drainTimeoutSeconds": "5", "k3s.upgradeBatchSize": "x" }, [
        `${P}k3s.drainTimeoutSeconds "5" is not a whole number from 10 to 86400; set a number in that range`,
        `${P}k3s.upgradeBatchSize "x" is not a whole number from 1 to 100; set a number in that range`,
      ]);
    });
  });

  describe("ssh", () => {
    it("checks user, key, port and bastion", () => {
      expectProblems(
        {
          "ssh.user": "Root$",
          "ssh.privateKey": "not a key",
          "ssh.port": "70000",
          "ssh.bastion": { host: "$(id)", hostkey: 1 },
        },
        [
          `${P}ssh.user "Root$" is not a valid user name; use lowercase letters, digits, '_', '.' and '-', e.g. root`,
          `${P}ssh.privateKey (secret, not shown) is not a PEM/OpenSSH private key; set it from the key file: pulumi config set --secret ssh.privateKey < ~/.ssh/id_ed25519`,
          `${P}ssh.bastion has unknown field "hostkey"; known fields: host, port, user, hostKey`,
          `${P}ssh.bastion.host "$(id)" is not a valid hostname or IP address; use a DNS name or IPv4/IPv6 address`,
          `${P}ssh.bastion.hostKey is not set; pin the bastion's SSH host key: ssh-keyscan -t ed25519 <bastion> | cut -d' ' -f2-`,
          `${P}ssh.port "70000" is not a whole number from 1 to 65535; set a number in that range`,
        ],
      );
      expectProblems({ "ssh.privateKey": undefined }, [
        `${P}ssh.privateKey is not set; pulumi config set --secret ssh.privateKey < ~/.ssh/id_ed25519`,
      ]);
    });

    it("refuses ssh-rsa pins (node and bastion), whose SHA-1 signatures OpenSSH 8.8+ refuses, and accepts ecdsa", () => {
      const rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDFakeRsaKeyForUnitTests== root@old-host";
      const rsaRule = (field: string, value: string, keyscan: string) =>
        `${P}${field} ${JSON.stringify(value)} is an ssh-rsa host key, which cannot be verified: the SSH connection offers only the pinned key's algorithm, for ssh-rsa that is SHA-1 "ssh-rsa" signatures, and OpenSSH 8.8 and later refuse them ("no common algorithm for host key"); pin the host's ed25519 (or ecdsa) key instead: ${keyscan}`;
      expectProblems(
        {
          agents: [worker(1), worker(2, { hostKey: rsa })],
          "ssh.bastion": { host: "bastion.example.test", hostKey: rsa },
        },
        [
          rsaRule("ssh.bastion.hostKey", rsa, "ssh-keyscan -t ed25519 <bastion> | cut -d' ' -f2-"),
          rsaRule("agents[1].hostKey", rsa, KEYSCAN),
        ],
      );
      const ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY=";
      expect(problemsOf({ ...seedConfig(), agents: [worker(1, { hostKey: ecdsa })] })).to.deep.equal([]);
    });

    it("accepts a bastion with a pinned key", () => {
      const s = settingsOf({
        ...seedConfig(),
        "ssh.bastion": { host: "bastion.example.test", user: "jump", hostKey: worker(9).hostKey },
      });
      expect(s.ssh.bastion).to.deep.equal({
        host: "bastion.example.test",
        port: 22,
        user: "jump",
        hostKey: worker(9).hostKey,
      });
    });
  });

  describe("rancher", () => {
    it("is off unless rancher.apiUrl is set", () => {
      expectProblems({ "rancher.token": "x" }, [
        `${P}rancher.token is set but rancher.apiUrl is not; set rancher.apiUrl to register the cluster in Rancher, or remove rancher.token`,
      ]);
    });

    it("checks URL, token and cluster name", () => {
      expectProblems({ "rancher.apiUrl": "rancher.example", "rancher.clusterName": "QA_1" }, [
        `${P}rancher.apiUrl "rancher.example" is not an http(s):// URL; use the Rancher server URL, e.g. https://rancher.example.test`,
        `${P}rancher.token is not set; create an API key in Rancher, then: pulumi config set --secret rancher.token <token>`,
        `${P}rancher.clusterName "QA_1" is not a valid Rancher cluster name; use lowercase letters, digits and '-' (at most 63)`,
      ]);
      const s = settingsOf({
        ...seedConfig(),
        "rancher.apiUrl": "https://rancher.example.test",
        "rancher.token": "token-x:y",
      });
      expect(s.rancher).to.deep.equal({ apiUrl: "https://rancher.example.test", clusterName: "qa", insecure: false });
    });
  });

  it("refuses secrets stored in plain text", () => {
    expectProblems(
      { "rancher.apiUrl": "https://r.example.test", "rancher.token": "t" },
      [
        `${P}k3s.token is stored in plain text; set it again encrypted: pulumi config set --secret k3s.token <value>`,
        `${P}ssh.privateKey is stored in plain text; set it again encrypted: pulumi config set --secret ssh.privateKey < ~/.ssh/id_ed25519`,
        `${P}rancher.token is stored in plain text; set it again encrypted: pulumi config set --secret rancher.token <token>`,
      ],
      [],
    );
  });
});
