/**
 * Bearer API keys. Keys are kept only as SHA-256 digests (API_KEY_HASHES; plain API_KEYS from
 * .dev.vars are hashed on load) and a presented key's digest is compared with every stored digest
 * in constant time, so neither a match position nor a common prefix shows in the timing.
 */
import type { MiddlewareHandler } from "hono";
import type { Env } from "../env.js";
import { ApiError } from "./api-error.js";

const HEX_DIGEST = /^[0-9a-f]{64}$/;

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function hexToBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function splitList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** The stored digests: API_KEY_HASHES as given, plus the digests of API_KEYS. */
export async function acceptedKeyDigests(env: Env): Promise<Uint8Array[]> {
  const digests: Uint8Array[] = [];
  for (const hash of splitList(env.API_KEY_HASHES)) {
    const lower = hash.toLowerCase();
    if (!HEX_DIGEST.test(lower)) {
      throw new Error("configuration: API_KEY_HASHES must hold 64-digit SHA-256 hex digests");
    }
    digests.push(hexToBytes(lower));
  }
  for (const key of splitList(env.API_KEYS)) digests.push(hexToBytes(await sha256Hex(key)));
  return digests;
}

/** Equal-length comparison whose time does not depend on where the inputs differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

/** True when `key` is one of the accepted keys; every stored digest is compared. */
export async function isAcceptedKey(key: string, digests: readonly Uint8Array[]): Promise<boolean> {
  const presented = hexToBytes(await sha256Hex(key));
  let accepted = false;
  for (const digest of digests) accepted = constantTimeEqual(presented, digest) || accepted;
  return accepted;
}

/** 401 without a bearer key, 403 with a key that is not accepted. */
export function requireApiKey(): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (header === undefined) {
      throw new ApiError(401, "unauthorized", "missing Authorization header: send `Authorization: Bearer <API key>`");
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) {
      throw new ApiError(401, "unauthorized", "malformed Authorization header: expected `Bearer <API key>`");
    }
    const digests = await acceptedKeyDigests(c.env);
    if (!(await isAcceptedKey(match[1]!, digests))) {
      throw new ApiError(403, "forbidden", "the API key is not accepted");
    }
    await next();
  };
}
