import { defineConfig } from "vitest/config";

// Two projects in one run, so that one JSON report (.ci/run) counts both: the Node tests, and the
// Worker tests inside workerd (worker/vitest.config.ts, @cloudflare/vitest-pool-workers).
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "node",
          include: ["test/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: "forks",
        },
      },
      "worker/vitest.config.ts",
    ],
  },
});
