/**
 * Which URLs an analysis may read: HTTPS only, and no loopback, private, link-local or
 * otherwise internal hosts, unless local development allows them (ALLOW_PRIVATE_URLS).
 * Hostnames are judged by name and IP literal; Workers cannot resolve DNS beforehand.
 */
import { ApiError } from "../http/api-error.js";

const INTERNAL_SUFFIXES = [".localhost", ".local", ".internal", ".lan", ".home.arpa"];

function ipv4Octets(host: string): number[] | undefined {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return undefined;
  const octets = parts.map(Number);
  return octets.every((o) => o <= 255) ? octets : undefined;
}

function isInternalIpv4([a, b]: number[]): boolean {
  return (
    a === 0 || a === 10 || a === 127 ||
    (a === 100 && b! >= 64 && b! <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) ||
    (a === 172 && b! >= 16 && b! <= 31) ||
    (a === 192 && b === 168) ||
    a! >= 224 // multicast and reserved
  );
}

function isInternalIpv6(host: string): boolean {
  const address = host.toLowerCase();
  if (address === "::" || address === "::1") return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped !== null) {
    const octets = ipv4Octets(mapped[1]!);
    return octets === undefined || isInternalIpv4(octets);
  }
  // fc00::/7 unique local, fe80::/10 link-local
  return /^f[cd][0-9a-f]{0,2}:/.test(address) || /^fe[89ab][0-9a-f]?:/.test(address);
}

/** The parsed URL when allowed; else ApiError 400 saying why. */
export function checkSourceUrl(text: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ApiError(400, "bad_url", `${text}: not a valid URL`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new ApiError(400, "bad_url", `${url.host}: credentials in the URL are not accepted`);
  }
  if (allowPrivate) {
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new ApiError(400, "bad_url", `${text}: only http and https URLs can be read`);
    }
    return url;
  }
  if (url.protocol !== "https:") throw new ApiError(400, "bad_url", `${text}: only https URLs can be read`);
  const host = url.hostname.toLowerCase();
  const bracketless = host.startsWith("[") ? host.slice(1, -1) : host;
  const octets = ipv4Octets(bracketless);
  const internal =
    bracketless === "localhost" ||
    INTERNAL_SUFFIXES.some((suffix) => bracketless.endsWith(suffix)) ||
    (octets !== undefined && isInternalIpv4(octets)) ||
    (bracketless.includes(":") && isInternalIpv6(bracketless)) ||
    !bracketless.includes(".") && !bracketless.includes(":"); // single-label names are internal
  if (internal) {
    throw new ApiError(400, "bad_url", `${text}: loopback, private and internal hosts are not reachable from the API`);
  }
  return url;
}
