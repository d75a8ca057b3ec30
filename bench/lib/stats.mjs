// Medians, ranges and paired ratios of repeated measurements.
export function summary(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return { median: null, min: null, max: null, n: 0 };
  const m = v.length >> 1;
  return { median: v.length & 1 ? v[m] : (v[m - 1] + v[m]) / 2, min: v[0], max: v[v.length - 1], n: v.length };
}

/** Ratio a/b pair by pair (same repeat index), summarised. */
export function pairedRatio(a, b) {
  const r = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] > 0 && b[i] > 0) r.push(a[i] / b[i]);
  return summary(r);
}

export function rotate(list, k) {
  const n = list.length;
  return list.map((_, i) => list[(i + k) % n]);
}
