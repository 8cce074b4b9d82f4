/**
 * Builders of small model files for tests.
 */
import { seededRandom } from "./seeded-random.js";

export interface FixtureTensor {
  name: string;
  dtype: "F32" | "F64";
  shape: number[];
  data: ArrayLike<number>;
}

/**
 * A safetensors file holding `tensors` in the given order (header entries and data in that
 * order), header padded with spaces to a multiple of 8 bytes.
 */
export function writeSafetensors(tensors: FixtureTensor[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`fixture ${t.name}: shape ${JSON.stringify(t.shape)} needs ${count} values, got ${t.data.length}`);
    const bytes = count * (t.dtype === "F64" ? 8 : 4);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + json.length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const t of tensors) {
    for (let i = 0; i < t.data.length; i++) {
      if (t.dtype === "F64") {
        view.setFloat64(position, t.data[i]!, true);
        position += 8;
      } else {
        view.setFloat32(position, t.data[i]!, true);
        position += 4;
      }
    }
  }
  return out;
}

/** `count` approximately normal values (Box-Muller) with standard deviation `scale`. */
export function gaussianData(count: number, seed: number, scale = 1): Float64Array {
  const random = seededRandom(seed);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const u = Math.max(random(), 1e-300);
    const v = random();
    const r = Math.sqrt(-2 * Math.log(u)) * scale;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}
