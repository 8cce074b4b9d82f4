import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";

const here = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url));

// The root is the repository: the Worker imports build/spectral.wasm, and modules outside the
// Vite root cannot be loaded into workerd by the pool.
export default defineConfig(async () => ({
  root: here(".."),
  plugins: [
    cloudflareTest({
      main: here("./src/index.ts"),
      wrangler: { configPath: here("../wrangler.toml") },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(here("./migrations")),
          // Plain test keys (hashed on load, as .dev.vars keys are) and one stored as a digest (SHA-256 of "digest-key").
          API_KEYS: "test-key-1,test-key-2",
          API_KEY_HASHES: "a4e354d72cf17a12c79f61a2788800382e8f528ad4d34689e4c7fecc124615b8",
        },
        // The example model (1 MB) as an ArrayBuffer binding, for tests that upload it to R2.
        dataBlobBindings: { EXAMPLE_MODEL: here("../examples/mlp-784-300-100-10.safetensors") },
      },
    }),
  ],
  test: {
    name: "worker",
    root: here(".."),
    include: ["worker/test/**/*.test.ts"],
    setupFiles: ["worker/test/apply-migrations.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
}));
