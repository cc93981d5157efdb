/**
 * Which webhook targets are refused: loopback, private, link-local,
 * carrier-grade NAT, unique-local and unspecified addresses, so that a rule
 * cannot make the worker probe the operator's own network (SSRF). The check
 * is on the resolved addresses (a public name resolving to 10.0.0.1 is
 * refused too); ALERTS_ALLOW_PRIVATE_TARGETS=true lifts it.
 *
 * @module
 */

/** True for an IPv4 or IPv6 literal that is not publicly routable. */
export function isPrivateAddress(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, "").toLowerCase();
  const v4 = a.startsWith("::ffff:") ? a.slice(7) : a;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v4);
  if (m) {
    const [o1, o2] = [Number(m[1]), Number(m[2])];
    return o1 === 0 || o1 === 10 || o1 === 127 || (o1 === 169 && o2 === 254) ||
      (o1 === 172 && o2 >= 16 && o2 <= 31) || (o1 === 192 && o2 === 168) ||
      (o1 === 100 && o2 >= 64 && o2 <= 127) || o1 >= 224;
  }
  if (!a.includes(":")) return true; // not an address at all: refuse
  if (a === "::" || a === "::1") return true;
  return /^f[cd]/.test(a) || /^fe[89ab]/.test(a) || a.startsWith("ff");
}

/** True when `hostname` is a name that always means this machine or its network. */
export function isLocalName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, "");
  return h === "localhost" || h.endsWith(".localhost") || h.endsWith(".local") ||
    h.endsWith(".internal") || !h.includes(".") && !h.includes(":");
}
