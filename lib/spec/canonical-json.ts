/**
 * JSON with every object's keys sorted: equal values, equal text (digests,
 * fingerprints). Apart from load.ts so the engine gets it without the YAML parser.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    // fromEntries defines own properties, so a `__proto__` key (JSON.parse makes one) stays data.
    const record = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .map((k) => [k, record[k]]),
    );
  });
}
