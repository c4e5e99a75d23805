// Kubernetes resource quantities (`250m`, `1Gi`, `512M`, `1e3`) parsed the way apimachinery's resource.ParseQuantity
// does, exactly (BigInt fractions, no float drift), and rounded the way the scheduler reads them: CPU as MilliValue()
// and memory as Value(), both rounded UP to a whole unit. components/specs/quantities.ts only knows the forms the
// catalog writes; this one is for whatever the cluster reports (node allocatable, other teams' pods).
//
//   <quantity> ::= <signedNumber><suffix>
//   <suffix>   ::= Ki | Mi | Gi | Ti | Pi | Ei | n | u | m | "" | k | M | G | T | P | E | (e|E)<signedInteger>
//   <number>   ::= <digits> | <digits>.<digits> | <digits>. | .<digits>

const QUANTITY = /^([+-]?)(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;
const BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
// apimachinery refuses exponents it cannot represent; anything this far out is a typo, not a node size.
const MAX_EXPONENT = 64;

/** An exact quantity: numerator / denominator, denominator > 0. */
export interface ExactQuantity {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

export class QuantityError extends Error {
  constructor(
    quantity: string,
    what: string,
    rule = "is not a Kubernetes quantity; use a number with an optional suffix (250m, 0.5, 1Gi, 512M, 1e3)",
  ) {
    super(`${what} "${quantity}" ${rule}`);
    this.name = "QuantityError";
  }
}

export function parseQuantity(quantity: string, what = "quantity"): ExactQuantity {
  const match = QUANTITY.exec(quantity);
  if (!match) throw new QuantityError(quantity, what);
  const [, sign, number, suffix = ""] = match;
  const [whole, fraction = ""] = number.split(".");
  let numerator = BigInt((whole || "0") + fraction) * (sign === "-" ? -1n : 1n);
  let denominator = 10n ** BigInt(fraction.length);
  if (suffix in BINARY) {
    numerator *= 1024n ** BigInt(BINARY[suffix]);
  } else {
    const exponent = suffix in DECIMAL ? DECIMAL[suffix] : Number(suffix.slice(1));
    if (Math.abs(exponent) > MAX_EXPONENT) throw new QuantityError(quantity, what);
    if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
    else denominator *= 10n ** BigInt(-exponent);
  }
  return { numerator, denominator };
}

// Ceiling of numerator × scale / denominator, like Quantity.ScaledValue (which rounds away from zero only upwards).
function ceilScaled(q: ExactQuantity, scale: bigint): bigint {
  const n = q.numerator * scale;
  const quotient = n / q.denominator;
  return n % q.denominator > 0n ? quotient + 1n : quotient;
}

function toSafeNumber(value: bigint, quantity: string, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER))
    throw new QuantityError(quantity, what, "is too large to count exactly (above 2^53 units)");
  return Number(value);
}

/** Millicores of a CPU quantity, rounded up like Quantity.MilliValue(): `0.0001` → 1, `1e3` → 1000000. */
export function cpuMillis(quantity: string, what = "cpu"): number {
  return toSafeNumber(ceilScaled(parseQuantity(quantity, what), 1000n), quantity, what);
}

/** Bytes (or a plain count, e.g. pods) of a quantity, rounded up like Quantity.Value(): `1Gi` → 1073741824. */
export function quantityValue(quantity: string, what = "memory"): number {
  return toSafeNumber(ceilScaled(parseQuantity(quantity, what), 1n), quantity, what);
}
