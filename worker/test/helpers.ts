/** Shared test helpers: authenticated requests into the Worker, and small safetensors models. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../src/index.js";
import type { Env } from "../src/env.js";
import type { JobMessage } from "../src/fanout/messages.js";

export const API_KEY = "test-key-1";

/** A request through the Worker's fetch handler with `overrides` on top of the test bindings. */
export async function call(
  path: string,
  init: RequestInit & { auth?: string | null; overrides?: Partial<Env> } = {},
): Promise<Response> {
  const { auth = API_KEY, overrides = {}, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (auth !== null) headers.set("authorization", `Bearer ${auth}`);
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`http://alphawatch.test${path}`, { ...rest, headers }), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export async function postJson(path: string, body: unknown, overrides: Partial<Env> = {}): Promise<Response> {
  return call(path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" }, overrides });
}

/** A Queue producer that keeps the messages, so the test delivers them itself. */
export function capturingQueue(): Queue<JobMessage> & { sent: JobMessage[] } {
  const sent: JobMessage[] = [];
  const queue = {
    sent,
    async send(body: JobMessage) {
      sent.push(body);
    },
    async sendBatch(messages: Iterable<MessageSendRequest<JobMessage>>) {
      for (const message of messages) sent.push(message.body);
    },
    async metrics() {
      return { backlogCount: sent.length, backlogBytes: 0 };
    },
  };
  return queue as unknown as Queue<JobMessage> & { sent: JobMessage[] };
}

/** Deterministic uniform values in [-1, 1) (mulberry32). */
export function randomValues(seed: number, count: number, scale = 1): Float32Array {
  let state = seed >>> 0;
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    values[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return values;
}

export interface TestTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** A safetensors file (F32 tensors) in memory. */
export function safetensorsBytes(tensors: readonly TestTensor[]): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const tensor of tensors) {
    header[tensor.name] = { dtype: "F32", shape: tensor.shape, data_offsets: [offset, offset + tensor.values.byteLength] };
    offset += tensor.values.byteLength;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += " ";
  const headerBytes = new TextEncoder().encode(json);
  const bytes = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  bytes.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const tensor of tensors) {
    bytes.set(new Uint8Array(tensor.values.buffer, tensor.values.byteOffset, tensor.values.byteLength), position);
    position += tensor.values.byteLength;
  }
  return bytes;
}

/** Two dense layers (128x64, 96x64) and a bias, values scaled by `scale`. */
export function twoLayerModel(seed: number, scale = 1): Uint8Array {
  return safetensorsBytes([
    { name: "fc1.weight", shape: [128, 64], values: randomValues(seed, 128 * 64, scale) },
    { name: "fc1.bias", shape: [128], values: randomValues(seed + 1, 128, scale) },
    { name: "fc2.weight", shape: [96, 64], values: randomValues(seed + 2, 96 * 64, scale) },
  ]);
}

export function sumOfSquares(values: Float32Array): number {
  let sum = 0;
  for (const v of values) sum += v * v;
  return sum;
}
