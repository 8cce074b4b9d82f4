#!/usr/bin/env node
/**
 * `npm run dev:worker`: wrangler dev on 127.0.0.1:8787 with local D1 migrated, the example
 * models seeded into the local R2 bucket under models/<name>/v1/, and .dev.vars created from
 * .dev.vars.example when missing. Stop with Ctrl-C (the whole process group is stopped).
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_SEND_ERROR_REPORTS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" };
const wrangler = join(root, "node_modules", ".bin", "wrangler");

function run(args) {
  const result = spawnSync(wrangler, args, { cwd: root, env, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`dev:worker: wrangler ${args.join(" ")} failed`);
    process.exit(result.status ?? 1);
  }
}

if (!existsSync(join(root, "build", "spectral.wasm"))) {
  console.error("dev:worker: build/spectral.wasm is missing; run `npm run build` first");
  process.exit(1);
}
if (!existsSync(join(root, ".dev.vars"))) {
  copyFileSync(join(root, ".dev.vars.example"), join(root, ".dev.vars"));
  console.log("dev:worker: created .dev.vars from .dev.vars.example");
}
run(["d1", "migrations", "apply", "alphawatch-db", "--local"]);
for (const file of readdirSync(join(root, "examples"))) {
  if (!/\.(safetensors|gguf|onnx|pt|pth|bin|h5|npz)$/.test(file)) continue;
  const name = file.replace(/\.[^.]+$/, "");
  run(["r2", "object", "put", `alphawatch-models/models/${name}/v1/${file}`, "--file", join("examples", file), "--local"]);
}
const dev = spawn(wrangler, ["dev", "--ip", "127.0.0.1", "--port", "8787", "--test-scheduled"], { cwd: root, env, stdio: "inherit" });
const stop = () => dev.kill("SIGINT");
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
dev.on("exit", (code) => process.exit(code ?? 0));
