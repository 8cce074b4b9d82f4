/** `alphawatch upload --api URL FILE KEY`: streams a local file into the Worker's R2 bucket. */
import path from "node:path";
import type { Command } from "commander";
import { DEFAULT_PART_SIZE } from "../api-client.js";
import type { Io } from "../main.js";
import { parseNonNegativeNumber } from "./analyze.js";
import { addApiOptions, apiClient, type ApiFlags } from "./api-options.js";

const MIB = 1024 * 1024;

/** `models/mlp/v2/` (a folder) takes the file's name; any other key is used as written. */
export function objectKeyFor(file: string, key: string): string {
  return key.endsWith("/") ? `${key}${path.basename(file)}` : key;
}

export function registerUpload(program: Command, io: Io): void {
  const command = program
    .command("upload")
    .description("upload a checkpoint into the API's R2 bucket (streamed; multipart beyond one part)")
    .argument("<file>", "local file")
    .argument("<key>", "object key, for example models/NAME/v1/model.safetensors (a key ending in / takes the file name)")
    .option("--part-size <MiB>", `files above this size go in parts of this size (5-95, default ${DEFAULT_PART_SIZE / MIB})`, parseNonNegativeNumber("--part-size"));
  addApiOptions(command, true).action(async (file: string, key: string, flags: ApiFlags & { api: string; partSize?: number }) => {
    const client = apiClient(flags);
    const objectKey = objectKeyFor(file, key);
    const settings = flags.partSize === undefined ? {} : { partSize: Math.round(flags.partSize * MIB) };
    const stored = await client.upload(file, objectKey, {
      ...settings,
      onProgress: (sent, total) => {
        if (io.interactive && sent < total) io.stderr(`${file}: ${Math.round((100 * sent) / total)}% sent\n`);
      },
    });
    io.stdout(`r2://${stored.key} ${stored.size} bytes etag ${stored.etag}\n`);
  });
}
