/**
 * NumPy `.npz` reader: a zip archive of `.npy` members (`numpy.savez`: stored;
 * `numpy.savez_compressed`: deflated). Each member is one tensor named after the member
 * without `.npy`, in the archive's order.
 *
 * Stored members are read range by range. Deflated members are inflated as a stream that
 * continues from the previous read (see zip.ts): reading a tensor front to back in row blocks
 * inflates it once and holds only the current compressed chunk and its output, never the whole
 * member. Reading backwards restarts the stream from the member's start.
 */
import type { ByteSource } from "./byte-source.js";
import { FormatError, UnsupportedError } from "../errors.js";
import type { SkippedTensor, TensorIndex, TensorInfo } from "./tensor.js";
import { describeMembers, looksLikeZip, memberSource, openZip } from "./zip.js";
import { npyTensor } from "./npy.js";

/** True when `source` is a zip whose members are all `.npy` files (and there is at least one). */
export async function looksLikeNpz(head: Uint8Array, _fileSize: number, source: ByteSource): Promise<boolean> {
  if (!looksLikeZip(head)) return false;
  try {
    const archive = await openZip(source);
    const files = archive.entries.filter((e) => !e.name.endsWith("/"));
    return files.length > 0 && files.every((e) => e.name.endsWith(".npy"));
  } catch {
    return false;
  }
}

export async function readNpz(source: ByteSource): Promise<TensorIndex> {
  const archive = await openZip(source);
  const members = archive.entries.filter((e) => !e.name.endsWith("/"));
  const notNpy = members.filter((e) => !e.name.endsWith(".npy"));
  if (members.length === 0 || notNpy.length > 0) {
    throw new FormatError(`${source.name}: not a NumPy .npz archive (${describeMembers(archive)}; every member must be a .npy file)`);
  }
  const tensors: TensorInfo[] = [];
  const skipped: SkippedTensor[] = [];
  const seen = new Set<string>();
  for (const entry of members) {
    const name = entry.name.slice(0, -4);
    if (seen.has(name)) throw new FormatError(`${source.name}: member "${entry.name}" appears twice in the archive`);
    seen.add(name);
    try {
      tensors.push(await npyTensor(memberSource(archive, entry), name));
    } catch (error) {
      // A member in an unsupported dtype is skipped with its reason; a malformed one fails the file.
      if (error instanceof UnsupportedError) {
        skipped.push({ name, reason: error.message });
        continue;
      }
      throw error;
    }
  }
  const compressed = members.some((e) => e.method !== 0);
  return { format: "npz", tensors, metadata: compressed ? { compression: "deflate" } : {}, skipped };
}
