// Test bytes shared by the node peers of the interop tests.

// Deterministic, position-dependent bytes: a shifted or dropped byte shows.
export function pattern(size, seed) {
  const b = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; ++i) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}
