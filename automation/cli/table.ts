// Plain-text building blocks of the human output: aligned tables, durations, sizes. Pure, no colours (Bamboo's log
// viewer shows escape codes as text).

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, col) => Math.max(...all.map((row) => (row[col] ?? "").length)));
  return all
    .map((row) =>
      row
        .map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col])))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** 850 → "0.9 s", 83_000 → "1 min 23 s". */
export function seconds(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const total = Math.round(ms / 1000);
  return `${Math.floor(total / 60)} min ${total % 60} s`;
}

/** An age: "45 s", "12 min", "3 h 5 min", "2 d 4 h". */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** ISO 8601 without milliseconds: "2026-12-02T18:01:02Z"; "-" when absent. */
export function when(iso: string | undefined): string {
  if (!iso) return "-";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function cpu(millis: number): string {
  return `${(millis / 1000).toFixed(2)} CPU`;
}

export function memory(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}
