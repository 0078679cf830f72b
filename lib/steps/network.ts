import { isIP } from 'node:net';

/**
 * Address ranges an `http` step may reach only with the `private-network` capability:
 * everything that is not a public unicast address. Checked after DNS resolution, so a
 * public name pointing at 169.254.169.254 or 10.0.0.1 is caught (SSRF).
 */
const PRIVATE_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network", incl. 0.0.0.0 which reaches localhost
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, incl. the instance metadata endpoint
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, incl. broadcast
];

function parseV4(address: string): number | null {
  const parts = address.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = value * 256 + n;
  }
  return value;
}

function v4InRange(value: number, base: string, bits: number): boolean {
  const start = parseV4(base) ?? 0;
  const size = 2 ** (32 - bits);
  return value >= start && value < start + size;
}

function isPrivateV4(value: number): boolean {
  return PRIVATE_V4.some(([base, bits]) => v4InRange(value, base, bits));
}

/** Eight 16-bit groups, or null when `address` is not IPv6. */
function parseV6(address: string): number[] | null {
  let text = address;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    // a trailing dotted IPv4 stands for the last two groups
    const v4 = parseV4(last);
    if (v4 === null) return null;
    const high = Math.floor(v4 / 65536).toString(16);
    const low = (v4 % 65536).toString(16);
    text = `${text.slice(0, lastColon + 1)}${high}:${low}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const toGroups = (s: string): number[] | null => {
    if (s === '') return [];
    const groups: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
      groups.push(Number.parseInt(g, 16));
    }
    return groups;
  };
  const head = toGroups(halves[0] ?? '');
  const rest = halves.length === 2 ? toGroups(halves[1] ?? '') : [];
  if (head === null || rest === null) return null;
  const known = head.length + rest.length;
  if (halves.length === 1) return known === 8 ? head : null;
  if (known > 7) return null;
  return [...head, ...new Array<number>(8 - known).fill(0), ...rest];
}

function embeddedV4(high: number, low: number): number {
  return high * 65536 + low;
}

function isPrivateV6(g: number[]): boolean {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const firstFiveZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  // ::ffff:a.b.c.d (IPv4-mapped) and ::a.b.c.d (IPv4-compatible, incl. :: and ::1)
  if (firstFiveZero && (g5 === 0xffff || g5 === 0)) {
    if (g5 === 0 && g6 === 0 && g7 <= 1) return true; // :: and ::1
    return isPrivateV4(embeddedV4(g6, g7));
  }
  // 64:ff9b::/96 NAT64 carries an IPv4 address in its last 32 bits
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return isPrivateV4(embeddedV4(g6, g7));
  }
  // 2002::/16 6to4 carries an IPv4 address in bits 16..48
  if (g0 === 0x2002) return isPrivateV4(embeddedV4(g1, g2));
  if ((g0 & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  if ((g0 & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((g0 & 0xffc0) === 0xfec0) return true; // fec0::/10 site-local (deprecated)
  if ((g0 & 0xff00) === 0xff00) return true; // ff00::/8 multicast
  return false;
}

/**
 * True for loopback, link-local, private and other non-public addresses (IPv4, IPv6,
 * IPv4-mapped IPv6). An unparseable address counts as private: fail closed.
 */
export function isPrivateAddress(address: string): boolean {
  const kind = isIP(address.split('%')[0] ?? '');
  if (kind === 4) {
    const v4 = parseV4(address);
    return v4 === null ? true : isPrivateV4(v4);
  }
  if (kind === 6) {
    const groups = parseV6(address);
    return groups === null ? true : isPrivateV6(groups);
  }
  return true;
}

/** `host` without IPv6 brackets or a trailing dot, lower-cased. */
export function normalizeHost(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/**
 * Whether `host` is allowed by workflow `permissions.hosts`: an exact name, or
 * `*.example.org` for any subdomain of example.org at any depth (not example.org itself).
 * `undefined` allows every host; an empty list allows none.
 */
export function isHostAllowed(host: string, allowedHosts: readonly string[] | undefined): boolean {
  if (allowedHosts === undefined) return true;
  const h = normalizeHost(host);
  return allowedHosts.some((pattern) => {
    const p = normalizeHost(pattern.trim());
    if (p.startsWith('*.')) {
      const suffix = p.slice(1); // ".example.org"
      return h.endsWith(suffix) && h.length > suffix.length;
    }
    return h === p;
  });
}
