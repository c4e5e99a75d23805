// A Bearer-token service for the test registry (the Docker token protocol, as Harbor or Docker Hub speak it): checks
// Basic credentials and issues an RS256 JWT whose x5c certificate the registry trusts through its rootcertbundle.
import { execFileSync } from "node:child_process";
import { createSign, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { TOKEN_ISSUER, TOKEN_SERVICE } from "../../../scripts/lib/localRegistry";

export interface TokenRequest {
  readonly authorization?: string;
  readonly scope?: string;
}

export class TokenServer {
  private constructor(
    /** Every token request received, in order. */
    readonly requests: TokenRequest[],
    private readonly server: http.Server,
    readonly certificateFile: string,
    private readonly dir: string,
  ) {}

  get realm(): string {
    const { port } = this.server.address() as { port: number };
    return `http://127.0.0.1:${port}/token`;
  }

  static async start(credentials: { username: string; password: string }): Promise<TokenServer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-token-"));
    const keyFile = path.join(dir, "key.pem");
    const certificateFile = path.join(dir, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=qa-k8s-test-token-issuer",
        "-keyout",
        keyFile,
        "-out",
        certificateFile,
      ],
      { stdio: "ignore" },
    );
    const key = fs.readFileSync(keyFile, "utf8");
    const certificateDer = pemToDer(fs.readFileSync(certificateFile, "utf8"));
    const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
    const requests: TokenRequest[] = [];
    const server = http.createServer((request, response) => {
      const url = new URL(request.url ?? "/", "http://127.0.0.1");
      const scope = url.searchParams.get("scope") ?? undefined;
      requests.push({ authorization: request.headers.authorization, scope });
      if (request.headers.authorization !== expected) {
        response.writeHead(401).end(JSON.stringify({ details: "bad credentials" }));
        return;
      }
      const [, name, actions] = /^repository:([^:]+):(.+)$/.exec(scope ?? "") ?? [];
      const token = signJwt(key, certificateDer, {
        iss: TOKEN_ISSUER,
        sub: credentials.username,
        aud: url.searchParams.get("service") ?? TOKEN_SERVICE,
        exp: Math.floor(Date.now() / 1000) + 300,
        nbf: Math.floor(Date.now() / 1000) - 10,
        iat: Math.floor(Date.now() / 1000),
        jti: randomUUID(),
        access: name ? [{ type: "repository", name, actions: actions.split(",") }] : [],
      });
      response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ token }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return new TokenServer(requests, server, certificateFile, dir);
  }

  stop(): Promise<void> {
    fs.rmSync(this.dir, { recursive: true, force: true });
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}

function signJwt(privateKey: string, certificateDer: Buffer, claims: object): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const header = encode({ alg: "RS256", typ: "JWT", x5c: [certificateDer.toString("base64")] });
  const body = `${header}.${encode(claims)}`;
  const signature = createSign("RSA-SHA256").update(body).sign(privateKey).toString("base64url");
  return `${body}.${signature}`;
}
