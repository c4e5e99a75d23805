// Kubernetes resource quantities, just enough to compare requests with limits and to size a namespace's quota.
// CPU is counted in millicores and memory in bytes, both as integers, so sums stay exact.

const CPU = /^(\d+(?:\.\d+)?)(m?)$/;
const MEMORY = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const MEMORY_FACTORS: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** Millicores of a CPU quantity (`250m`, `0.5`, `2`), or undefined when it is not one. */
export function parseCpu(quantity: string): number | undefined {
  const match = CPU.exec(quantity);
  if (!match) return undefined;
  const value = Number(match[1]);
  return Math.round(match[2] === "m" ? value : value * 1000);
}

/** Bytes of a memory quantity (`64Mi`, `1Gi`, `500M`), or undefined when it is not one. */
export function parseMemory(quantity: string): number | undefined {
  const match = MEMORY.exec(quantity);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * MEMORY_FACTORS[match[2] ?? ""]);
}

export function formatCpu(millicores: number): string {
  return `${Math.ceil(millicores)}m`;
}

export function formatMemory(bytes: number): string {
  return `${Math.ceil(bytes / 1024 ** 2)}Mi`;
}
