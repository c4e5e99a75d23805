// The registry pull secret: a kubernetes.io/dockerconfigjson Secret with one auth entry.

export const PULL_SECRET_NAME = "registry-pull-secret";

/** `.dockerconfigjson` content for one registry host. */
export function dockerConfigJson(server: string, username: string, password: string): string {
  const auth = Buffer.from(`${username}:${password}`).toString("base64");
  return JSON.stringify({ auths: { [server]: { username, password, auth } } });
}

/** Registry host without a repository path: pull secrets match on the host. */
export function registryServer(address: string): string {
  return address.split("/")[0];
}
