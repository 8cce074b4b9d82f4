/**
 * The Worker under `wrangler dev` (loopback, free port, throw-away state) with the CLI as its
 * client: upload, analysis by R2 key (fanned out over the local Queue), the numbers of a local
 * analysis; and `wrangler deploy --dry-run`. Skips with one line when wrangler cannot start.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ApiClient, type AnalysisView } from "../cli/api-client.js";
import { runWrangler, startWranglerDev, WranglerUnavailable, type DevServer } from "../bench/wrangler-dev.js";
import { runCli as cli } from "./cli-in-process.js";
import { repoRoot } from "./shared.js";

const example = path.join(repoRoot, "examples", "mlp-784-300-100-10.safetensors");

async function tryStart(): Promise<DevServer | undefined> {
  try {
    // A small inline limit, so the 1 MB example is fanned out over the Queue and the client polls.
    return await startWranglerDev({ vars: { INLINE_MAX_BYTES: "65536" } });
  } catch (error) {
    if (!(error instanceof WranglerUnavailable)) throw error;
    console.warn(`wrangler dev cannot start: skipping the Worker API end-to-end tests (${error.message})`);
    return undefined;
  }
}

const server = await tryStart();
const tmp = mkdtempSync(path.join(os.tmpdir(), "alphawatch-worker-dev-"));

afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

interface LayerRow {
  name: string;
  [column: string]: unknown;
}

/** Every numeric column of every layer and of the summary agree to `relative` (the same kernel in both). */
function expectSameNumbers(api: { layers: LayerRow[]; summary: Record<string, unknown> }, local: typeof api, relative = 1e-12): void {
  expect(api.layers.map((layer) => layer.name)).toEqual(local.layers.map((layer) => layer.name));
  let compared = 0;
  const check = (a: unknown, b: unknown, where: string) => {
    if (typeof b !== "number" || !Number.isFinite(b)) return;
    expect(typeof a, where).toBe("number");
    expect(Math.abs((a as number) - b), where).toBeLessThanOrEqual(relative * Math.max(1, Math.abs(b)));
    compared++;
  };
  api.layers.forEach((layer, i) => {
    for (const [column, value] of Object.entries(local.layers[i]!)) check(layer[column], value, `${layer.name}.${column}`);
  });
  for (const [column, value] of Object.entries(local.summary)) check(api.summary[column], value, `summary.${column}`);
  expect(compared).toBeGreaterThan(30);
}

/** A safetensors file above the 5 MiB multipart part size: one 64x48 matrix and a long 1-D tensor. */
function largeModel(file: string): number {
  const tensors = [
    { name: "proj.weight", shape: [64, 48], values: Float32Array.from({ length: 64 * 48 }, (_, i) => Math.sin(i * 0.731) * Math.cos(i * 0.117)) },
    { name: "table.bias", shape: [2_800_000], values: new Float32Array(2_800_000).fill(0.5) },
  ];
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const tensor of tensors) {
    header[tensor.name] = { dtype: "F32", shape: tensor.shape, data_offsets: [offset, offset + tensor.values.byteLength] };
    offset += tensor.values.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header).padEnd(Math.ceil(JSON.stringify(header).length / 8) * 8, " "));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const bytes = Buffer.concat([length, json, ...tensors.map((t) => Buffer.from(t.values.buffer))]);
  writeFileSync(file, bytes);
  return bytes.length;
}

describe.skipIf(server === undefined)("the CLI against wrangler dev", () => {
  const api = () => ["--api", server!.url, "--api-key", server!.apiKey];

  it("uploads the example into R2 (a key ending in / takes the file name)", async () => {
    const { code, stdout, stderr } = await cli("upload", ...api(), example, "models/mlp/v1/");
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^r2:\/\/models\/mlp\/v1\/mlp-784-300-100-10\.safetensors 1067104 bytes etag [0-9a-f]{32}\n$/);
  });

  it("analyzes it by R2 key through the Queue, with the numbers of a local analysis", async () => {
    const remote = await cli("analyze", ...api(), "r2://models/mlp/v1/mlp-784-300-100-10.safetensors", "--format", "json");
    expect(remote.stderr).toBe("");
    expect(remote.code).toBe(0);
    const local = await cli("analyze", example, "--format", "json", "--jobs", "1");
    expect(local.code).toBe(0);
    const apiReport = JSON.parse(remote.stdout);
    const localReport = JSON.parse(local.stdout);
    expect(apiReport.source.path).toBe("r2://models/mlp/v1/mlp-784-300-100-10.safetensors");
    expect(apiReport.source.size).toBe(1067104);
    expect(apiReport.layers.map((layer: LayerRow) => layer.name)).toEqual(["fc1", "fc2", "fc3"]);
    expect(apiReport.summary.alpha).toBeCloseTo(4.482549503189335, 12);
    expectSameNumbers(apiReport, localReport);
  });

  it("polls a fanned-out analysis (202) until its last layer completes it", async () => {
    const client = new ApiClient({ baseUrl: server!.url, apiKey: server!.apiKey, pollIntervalMs: 50 });
    const seen: AnalysisView[] = [];
    // Options not used before: new work, not the stored analysis of the same bytes.
    const done = await client.analyze("models/mlp/v1/mlp-784-300-100-10.safetensors", { min_evals: 5 }, (view) => seen.push(view));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]!.status).toBe("running");
    expect(seen[0]!.deduplicated).toBe(false);
    expect(seen.every((view) => view.id === done.id && view.progress.layers_total === 3)).toBe(true);
    expect(done.status).toBe("done");
    expect(done.progress).toEqual({ layers_done: 3, layers_total: 3 });
    expect(done.report.options.min_evals).toBe(5);
  });

  it("prints the same table as the local analysis (the API's key in place of the path)", async () => {
    // The second request for the same bytes and options is answered from the stored report; the
    // key comes from the environment this time.
    process.env["ALPHAWATCH_API_KEY"] = server!.apiKey;
    const remote = await cli("analyze", "--api", server!.url, "r2://models/mlp/v1/mlp-784-300-100-10.safetensors").finally(() => {
      delete process.env["ALPHAWATCH_API_KEY"];
    });
    const local = await cli("analyze", example, "--jobs", "1");
    expect(remote.code).toBe(0);
    const remoteLines = remote.stdout.split("\n");
    const localLines = local.stdout.split("\n");
    expect(remoteLines[0]).toBe("r2://models/mlp/v1/mlp-784-300-100-10.safetensors (safetensors, 3 layers analyzed, 3 tensors skipped)");
    expect(remoteLines.slice(1)).toEqual(localLines.slice(1));
  });

  it("renders HTML through the API with the ESD plots", async () => {
    const { code, stdout } = await cli("analyze", ...api(), "r2://models/mlp/v1/mlp-784-300-100-10.safetensors", "--format", "html");
    expect(code).toBe(0);
    expect(stdout.startsWith("<!DOCTYPE html>") || stdout.startsWith("<!doctype html>")).toBe(true);
    expect(stdout).toContain("fc1");
    expect(stdout).toContain("<svg");
  });

  it("uploads a file above the part size in parts, and analyzes it like a local file", async () => {
    const file = path.join(tmp, "large.safetensors");
    const size = largeModel(file);
    const upload = await cli("upload", ...api(), "--part-size", "5", file, "models/large/v1/model.safetensors");
    expect(upload.stderr).toBe("");
    expect(upload.code).toBe(0);
    // R2 gives a multipart object the ETag of its parts: `<hex>-<number of parts>`.
    expect(upload.stdout).toMatch(new RegExp(`^r2://models/large/v1/model\\.safetensors ${size} bytes etag [0-9a-f]{32}-3\\n$`));

    const remote = await cli("analyze", ...api(), "r2://models/large/v1/model.safetensors", "--format", "json");
    expect(remote.code).toBe(0);
    const local = await cli("analyze", file, "--format", "json", "--jobs", "1");
    const apiReport = JSON.parse(remote.stdout);
    expect(apiReport.layers.map((layer: LayerRow) => [layer.name, layer.N, layer.M])).toEqual([["proj", 64, 48]]);
    expectSameNumbers(apiReport, JSON.parse(local.stdout));
  });

  it("lists what was uploaded through the API", async () => {
    const response = await fetch(`${server!.url}/v1/objects?prefix=models/`, { headers: { authorization: `Bearer ${server!.apiKey}` } });
    const listing = (await response.json()) as { objects: Array<{ key: string }> };
    expect(listing.objects.map((object) => object.key)).toEqual([
      "models/large/v1/model.safetensors",
      "models/mlp/v1/mlp-784-300-100-10.safetensors",
    ]);
  });

  it("exits 2 with the API's refusal on a wrong key, 1 on a missing object", async () => {
    const refused = await cli("analyze", "--api", server!.url, "--api-key", "not-a-key", "r2://models/mlp/v1/mlp-784-300-100-10.safetensors");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^alphawatch: r2:\/\/models\/mlp\/v1\/mlp-784-300-100-10\.safetensors: the API refused the key: .* \(HTTP 403 [a-z_]+\)\n$/);

    const missing = await cli("analyze", ...api(), "r2://models/none/v1/model.safetensors");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^alphawatch: r2:\/\/models\/none\/v1\/model\.safetensors: .*\(HTTP 404 [a-z_]+\)\n$/);

    const notR2 = await cli("analyze", ...api(), example);
    expect(notR2.code).toBe(2);
    expect(notR2.stderr).toBe(`alphawatch: ${example}: with --api the model must be an object of the API's bucket, written r2://KEY\n`);
  });
});

describe("wrangler deploy --dry-run", () => {
  const wranglerPresent = existsSync(path.join(repoRoot, "node_modules", ".bin", "wrangler")) && existsSync(path.join(repoRoot, "build", "spectral.wasm"));
  if (!wranglerPresent) console.warn("wrangler or build/spectral.wasm missing: skipping wrangler deploy --dry-run");

  it.skipIf(!wranglerPresent)("bundles the Worker with its bindings and the kernel", async () => {
    const outdir = path.join(tmp, "dist");
    const { code, output } = await runWrangler(["deploy", "--dry-run", "--outdir", outdir], 90_000);
    expect(code, output).toBe(0);
    expect(output).toContain("--dry-run: exiting now.");
    for (const binding of ["env.MODELS (alphawatch-models)", "env.REPORTS (alphawatch-reports)", "env.DB (alphawatch-db)", "env.JOBS (alphawatch-jobs)"]) {
      expect(output).toContain(binding);
    }
    const files = readdirSync(outdir);
    expect(files).toContain("index.js");
    expect(files.some((file) => file.endsWith(".wasm"))).toBe(true);
  });
});
