/** Shared test helpers: authenticated requests into the Worker, and small safetensors models. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../src/index.js";
import type { Env } from "../src/env.js";
import type { JobMessage } from "../src/fanout/messages.js";
import { randomValues, safetensorsBytes } from "../../bench/f32-safetensors.js";

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

// Seeded float32 values and safetensors files: the builders of the Worker load test's uploads.
export { randomValues, safetensorsBytes };

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
