/**
 * Small float32 safetensors models built in memory from seeded values: the load test's uploads
 * and the Worker tests' models. Web-standard types only, so the Worker tests can import it inside
 * workerd.
 */

/** Deterministic uniform values in [-1, 1) times `scale` (mulberry32), so every seed has its own bytes. */
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

export interface F32Tensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** A safetensors file of F32 tensors, in the given order, header padded to a multiple of 8 bytes. */
export function safetensorsBytes(tensors: readonly F32Tensor[]): Uint8Array {
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
