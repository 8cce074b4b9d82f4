/**
 * A throw-away `wrangler dev` of the Worker for tests and the load test: loopback only, free
 * ports, its own local state (D1 migrated, empty R2) in a temporary folder, a random API key, and
 * a stop that ends the whole process group (wrangler leaves workerd and esbuild children, which
 * would otherwise keep the port).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { packageRoot } from "../cli/package-root.js";

/** wrangler offline: no telemetry, no request.cf download, no prompts. */
export const WRANGLER_ENV: Readonly<Record<string, string>> = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  CI: "true",
};

export interface DevServer {
  url: string;
  apiKey: string;
  /** Everything wrangler printed so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export interface DevServerSettings {
  /** Extra `[vars]` for this run (`--var NAME:VALUE`), for example a small INLINE_MAX_BYTES. */
  vars?: Record<string, string>;
  /** How long wrangler may take to answer /health. */
  startTimeoutMs?: number;
}

/** Why wrangler dev could not be started (missing build, wrangler or workerd failure, timeout). */
export class WranglerUnavailable extends Error {}

export function wranglerBin(): string {
  return path.join(packageRoot(), "node_modules", ".bin", "wrangler");
}

export function wranglerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ...WRANGLER_ENV };
}

/** A port nobody listens on now on 127.0.0.1 (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new WranglerUnavailable("no free port on 127.0.0.1");
  return address.port;
}

/** Runs wrangler to completion (in its own process group, killed whole on timeout). */
export async function runWrangler(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  const child = spawn(wranglerBin(), args, { cwd: packageRoot(), env: wranglerEnv(), detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => killGroup(child, "SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((resolve) => {
    child.once("error", (error) => {
      output += String(error);
      resolve(null);
    });
    child.once("exit", (exitCode) => resolve(exitCode));
  });
  clearTimeout(timer);
  return { code, output };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startWranglerDev(settings: DevServerSettings = {}): Promise<DevServer> {
  const root = packageRoot();
  if (!existsSync(wranglerBin())) throw new WranglerUnavailable(`${wranglerBin()} is missing (npm ci)`);
  if (!existsSync(path.join(root, "build", "spectral.wasm"))) throw new WranglerUnavailable("build/spectral.wasm is missing (npm run build)");
  const state = mkdtempSync(path.join(os.tmpdir(), "alphawatch-wrangler-"));
  const cleanState = () => rmSync(state, { recursive: true, force: true });

  const migrated = await runWrangler(["d1", "migrations", "apply", "alphawatch-db", "--local", "--persist-to", state], 60_000);
  if (migrated.code !== 0) {
    cleanState();
    throw new WranglerUnavailable(`wrangler d1 migrations apply failed (exit ${migrated.code}): ${lastLines(migrated.output)}`);
  }

  const port = await freePort();
  const inspectorPort = await freePort();
  const apiKey = `test-${randomBytes(12).toString("hex")}`;
  const vars = { ...settings.vars, API_KEYS: apiKey };
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--persist-to", state, "--show-interactive-dev-session=false"];
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  const child = spawn(wranglerBin(), args, { cwd: root, env: wranglerEnv(), detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  let exited = false;
  child.once("exit", () => (exited = true));
  child.once("error", (error) => {
    output += String(error);
    exited = true;
  });

  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.pid !== undefined && groupAlive(child.pid)) {
      killGroup(child, "SIGTERM");
      for (let waited = 0; waited < 5000 && groupAlive(child.pid); waited += 100) await sleep(100);
      if (groupAlive(child.pid)) killGroup(child, "SIGKILL");
    }
    cleanState();
  };

  const deadline = Date.now() + (settings.startTimeoutMs ?? 60_000);
  while (Date.now() < deadline && !exited) {
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return { url, apiKey, output: () => output, stop };
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  await stop();
  throw new WranglerUnavailable(
    exited ? `wrangler dev exited before answering /health: ${lastLines(output)}` : `wrangler dev did not answer /health in time: ${lastLines(output)}`,
  );
}

function lastLines(text: string, count = 8): string {
  return text.trim().split("\n").slice(-count).join(" | ");
}
