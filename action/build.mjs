/**
 * Builds the Action's single-file bundle, dist/index.js: ESM (the package is "type": "module"), with
 * a createRequire banner for the CommonJS dependencies that call require(), and the spectral kernel's
 * .wasm embedded as bytes. Deterministic: the same sources give the same bytes, which CI checks
 * (test/action/bundle.test.ts). Usage: node action/build.mjs [--outfile <path>]
 */
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const UNDICI_COPIES = ["node_modules/@actions/http-client/node_modules/undici", "node_modules/@actions/github/node_modules/undici"];

/** The bundle keeps one undici for both @actions packages; that is only right while they nest the same version. */
function checkSingleUndici() {
  const versions = UNDICI_COPIES.map((dir) => JSON.parse(readFileSync(path.join(repoRoot, dir, "package.json"), "utf8")).version);
  if (new Set(versions).size !== 1) throw new Error(`action/build.mjs: @actions packages nest different undici versions (${versions.join(", ")}); update the alias`);
}

export function actionBuildOptions(outfile = path.join(repoRoot, "dist", "index.js")) {
  return {
    absWorkingDir: repoRoot,
    entryPoints: ["action/src/index.ts"],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    minify: true,
    charset: "utf8",
    legalComments: "eof",
    loader: { ".wasm": "binary" },
    // @actions/core and @actions/github each nest the same undici (6.29.1); one copy is enough.
    alias: { undici: `./${UNDICI_COPIES[0]}` },
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "warning",
  };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf("--outfile");
  const outfile = at >= 0 ? path.resolve(process.argv[at + 1]) : undefined;
  checkSingleUndici();
  await build(actionBuildOptions(outfile));
}
