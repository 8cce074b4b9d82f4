/**
 * Benchmark of the spectral kernel (single thread) against LAPACK through numpy/scipy and against
 * ml-matrix, on the same seeded random matrices, runs alternating. Writes the figures into
 * docs/performance.md between the bench markers. Run with `npm run bench`.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { loadSpectralKernel } from "../cli/load-kernel.js";
import { bytesSource } from "../core/formats/byte-source.js";
import { readSafetensors } from "../core/formats/safetensors.js";
import { eigvalshOfMatrix, type WasmSpectralKernel } from "../core/spectral/wasm-kernel.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = findRepoRoot(here);
const tmpDir = path.join(repoRoot, ".bench-tmp");
const PYTHON = "/usr/bin/python3";
const BLOCK_ROWS = 256;

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "alphawatch") {
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`alphawatch's package.json not found above ${start}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Python side: one long-lived child that times LAPACK calls on .npy files

const PY_SERVER = String.raw`
import sys, json, time, ctypes
import numpy as np, scipy, scipy.linalg
def openblas_version():
    try:
        for line in open("/proc/self/maps"):
            p = line.split()[-1]
            if "openblas" in p and ".so" in p:
                lib = ctypes.CDLL(p)
                lib.openblas_get_config.restype = ctypes.c_char_p
                return lib.openblas_get_config().decode()
    except Exception as e:
        return "unknown (%s)" % e
    return "unknown"
print(json.dumps({"numpy": np.__version__, "scipy": scipy.__version__, "openblas": openblas_version()}), flush=True)
cache = {}
for line in sys.stdin:
    cmd, path = line.split()
    if path not in cache:
        cache.clear()
        cache[path] = np.load(path)
    A = cache[path]  # N x M, N >= M: the orientation the kernel is fed
    if cmd == "gram_eigvalsh":
        w0, c0 = time.perf_counter(), time.process_time()
        G = A.T @ A
        w1, c1 = time.perf_counter(), time.process_time()
        ev = scipy.linalg.eigvalsh(G)
        w2, c2 = time.perf_counter(), time.process_time()
        print(json.dumps({"gram": w1 - w0, "eig": w2 - w1, "wall": w2 - w0, "cpu": c2 - c0, "max": float(ev[-1])}), flush=True)
    elif cmd == "svd":
        w0, c0 = time.perf_counter(), time.process_time()
        sv = np.linalg.svd(A, compute_uv=False)
        w1, c1 = time.perf_counter(), time.process_time()
        print(json.dumps({"wall": w1 - w0, "cpu": c1 - c0, "max": float(sv[0] ** 2)}), flush=True)
`;

class PythonTimer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly pending: ((line: string) => void)[] = [];

  constructor() {
    const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    this.child = spawn(PYTHON, ["-c", PY_SERVER], { env, stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr.on("data", (chunk: Buffer) => process.stderr.write(chunk));
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on("line", (line) => this.pending.shift()?.(line));
  }

  next<T>(): Promise<T> {
    return new Promise((resolve) => this.pending.push((line) => resolve(JSON.parse(line) as T)));
  }

  ask<T>(command: string, file: string): Promise<T> {
    const answer = this.next<T>();
    this.child.stdin.write(`${command} ${file}\n`);
    return answer;
  }

  close(): void {
    this.child.stdin.end();
  }
}

function ensureScipy(): void {
  const probe = spawnSync(PYTHON, ["-c", "import scipy"], { stdio: "ignore" });
  if (probe.status === 0) return;
  console.log("installing python3-numpy python3-scipy (Debian) for the LAPACK reference ...");
  const install = spawnSync("apt-get", ["install", "-y", "python3-numpy", "python3-scipy"], { stdio: "inherit" });
  if (install.status !== 0) throw new Error("apt-get install python3-numpy python3-scipy failed");
}

// ---------------------------------------------------------------------------------------------
// Data

/** Seeded standard-normal-ish values (mulberry32 + Box-Muller). */
function randomMatrix(count: number, seed: number): Float64Array {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const phi = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(phi);
    if (i + 1 < count) out[i + 1] = r * Math.sin(phi);
  }
  return out;
}

/** Writes a C-order float64 .npy file. */
function writeNpy(file: string, data: Float64Array, rows: number, cols: number): void {
  const dict = `{'descr': '<f8', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const unpadded = 10 + dict.length + 1;
  const headerText = dict + " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const header = Buffer.alloc(10);
  header.write("\x93NUMPY", 0, "latin1");
  header[6] = 1;
  header[7] = 0;
  header.writeUInt16LE(headerText.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  writeFileSync(file, Buffer.concat([header, Buffer.from(headerText, "latin1"), body]));
}

/** Writes a safetensors file with one F32 tensor `fc.weight` of shape [rows, cols]. */
function writeSafetensorsLayer(file: string, data: Float64Array, rows: number, cols: number): void {
  const header = JSON.stringify({ "fc.weight": { dtype: "F32", shape: [rows, cols], data_offsets: [0, rows * cols * 4] } });
  const padded = header + " ".repeat((8 - (header.length % 8)) % 8);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(padded.length));
  const values = Float32Array.from(data);
  writeFileSync(file, Buffer.concat([size, Buffer.from(padded, "utf8"), Buffer.from(values.buffer)]));
}

// ---------------------------------------------------------------------------------------------
// Timed runs

interface KernelTiming {
  gram: number;
  eig: number;
  wall: number;
  cpu: number;
  max: number;
}

function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** Gram + eigenvalues of A (N x M row-major, N >= M) in the kernel, fed in blocks. */
function timeKernel(kernel: WasmSpectralKernel, a: Float64Array, n: number, m: number): KernelTiming {
  const w0 = performance.now(), c0 = cpuSeconds();
  const accumulator = kernel.gram(m);
  for (let first = 0; first < n; first += BLOCK_ROWS) {
    accumulator.addRows(a.subarray(first * m, Math.min(n, first + BLOCK_ROWS) * m));
  }
  const w1 = performance.now();
  const values = accumulator.eigvalsh();
  const w2 = performance.now(), c2 = cpuSeconds();
  return { gram: (w1 - w0) / 1e3, eig: (w2 - w1) / 1e3, wall: (w2 - w0) / 1e3, cpu: c2 - c0, max: values[m - 1]! };
}

function timeMlMatrix(a: Float64Array, n: number, m: number): number {
  const t0 = performance.now();
  const A = new Matrix(n, m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) A.set(i, j, a[i * m + j]!);
  const X = A.transpose().mmul(A);
  new EigenvalueDecomposition(X, { assumeSymmetric: true });
  return (performance.now() - t0) / 1e3;
}

const min = (values: number[]): number => Math.min(...values);
const fmt = (seconds: number): string => (seconds < 1 ? `${(seconds * 1e3).toFixed(1)} ms` : `${seconds.toFixed(2)} s`);
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;

interface SizeCase {
  m: number; // smaller side (Gram order)
  n: number; // larger side
  reps: number;
  svdReps: number;
  mlMatrix: boolean;
}

const SIZES: SizeCase[] = [
  { m: 256, n: 256, reps: 7, svdReps: 5, mlMatrix: true },
  { m: 1024, n: 1024, reps: 5, svdReps: 2, mlMatrix: true },
  { m: 1024, n: 4096, reps: 5, svdReps: 1, mlMatrix: false },
  { m: 2048, n: 8192, reps: 3, svdReps: 1, mlMatrix: false },
  { m: 4096, n: 4096, reps: 1, svdReps: 1, mlMatrix: false },
  { m: 4096, n: 11008, reps: 1, svdReps: 1, mlMatrix: false },
];

async function main(): Promise<void> {
  const started = performance.now();
  ensureScipy();
  mkdirSync(tmpDir, { recursive: true });
  const python = new PythonTimer();
  const versions = await python.next<{ numpy: string; scipy: string; openblas: string }>();
  const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? os.cpus()[0]?.model ?? "unknown";
  const machine = [
    `CPU: ${cpuModel}, ${os.cpus().length} cores, load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`,
    `Node ${process.version}; numpy ${versions.numpy}, scipy ${versions.scipy}; ${versions.openblas}`,
    `LAPACK runs with OPENBLAS_NUM_THREADS=1; the kernel runs in one thread; times are wall-clock minima over the repetitions.`,
  ];
  for (const line of machine) console.log(line);

  const kernel = await loadSpectralKernel();
  // tier-up: V8 compiles wasm with its baseline compiler first
  timeKernel(kernel, randomMatrix(512 * 256, 99), 512, 256);
  timeKernel(kernel, randomMatrix(512 * 256, 99), 512, 256);

  const rows: string[] = [];
  const header =
    "| W (M x N) | kernel Gram | kernel eig | kernel total | LAPACK Gram | LAPACK eigvalsh | LAPACK total | kernel / LAPACK | numpy svd (WW) | kernel / svd | ml-matrix | kernel GFLOP/s (Gram, eig) |";
  rows.push(header, "|---|---|---|---|---|---|---|---|---|---|---|---|");
  let peakMemory = 0;
  // BENCH_QUICK=1: only the two smallest sizes (to check the script itself)
  const sizes = process.env.BENCH_QUICK === "1" ? SIZES.slice(0, 2) : SIZES;
  for (const size of sizes) {
    const { m, n } = size;
    const a = randomMatrix(n * m, m * 7919 + n);
    const file = path.join(tmpDir, `w_${m}x${n}.npy`);
    writeNpy(file, a, n, m);
    const kernelRuns: KernelTiming[] = [];
    const lapackRuns: { gram: number; eig: number; wall: number; max: number }[] = [];
    const svdRuns: number[] = [];
    const mlRuns: number[] = [];
    for (let rep = 0; rep < size.reps; rep++) {
      kernelRuns.push(timeKernel(kernel, a, n, m));
      lapackRuns.push(await python.ask("gram_eigvalsh", file));
      if (rep < size.svdReps) svdRuns.push((await python.ask<{ wall: number }>("svd", file)).wall);
      if (size.mlMatrix && rep < (m >= 1024 ? 1 : 3)) mlRuns.push(timeMlMatrix(a, n, m));
    }
    rmSync(file);
    peakMemory = Math.max(peakMemory, kernel.memoryBytes());
    const k = { gram: min(kernelRuns.map((r) => r.gram)), eig: min(kernelRuns.map((r) => r.eig)), wall: min(kernelRuns.map((r) => r.wall)) };
    const l = { gram: min(lapackRuns.map((r) => r.gram)), eig: min(lapackRuns.map((r) => r.eig)), wall: min(lapackRuns.map((r) => r.wall)) };
    const svd = min(svdRuns);
    const agreement = Math.abs(kernelRuns[0]!.max - lapackRuns[0]!.max) / lapackRuns[0]!.max;
    const gramFlops = n * m * m, eigFlops = (4 / 3) * m * m * m;
    const row =
      `| ${m} x ${n} | ${fmt(k.gram)} | ${fmt(k.eig)} | ${fmt(k.wall)} | ${fmt(l.gram)} | ${fmt(l.eig)} | ${fmt(l.wall)} | ` +
      `**${ratio(k.wall, l.wall)}** | ${fmt(svd)} | ${ratio(k.wall, svd)} | ${mlRuns.length > 0 ? fmt(min(mlRuns)) : "-"} | ` +
      `${(gramFlops / k.gram / 1e9).toFixed(1)}, ${(eigFlops / k.eig / 1e9).toFixed(1)} |`;
    rows.push(row);
    console.log(`${row}  (λmax agreement ${agreement.toExponential(1)}, ${size.reps} reps)`);
  }

  // end to end on a real checkpoint: every 2-D layer's eigenvalues
  const e2e: string[] = [];
  let checkpointSvd = 0;
  const checkpoint = path.resolve(repoRoot, "..", "shared", "models", "series", "mlp_batchsize", "bs0032.safetensors");
  if (existsSync(checkpoint)) {
    const timeFile = async (): Promise<{ seconds: number; layers: [Float64Array, number, number][] }> => {
      const t0 = performance.now();
      const index = await readSafetensors(bytesSource(new Uint8Array(readFileSync(checkpoint)), checkpoint));
      const layers: [Float64Array, number, number][] = [];
      for (const tensor of index.tensors) {
        if (tensor.shape.length !== 2) continue;
        const [r, c] = tensor.shape as [number, number];
        const values = await tensor.read(0, r * c);
        eigvalshOfMatrix(kernel, values, r, c);
        layers.push([values, r, c]);
      }
      return { seconds: (performance.now() - t0) / 1e3, layers };
    };
    await timeFile();
    const runs: number[] = [];
    let layers: [Float64Array, number, number][] = [];
    for (let rep = 0; rep < 5; rep++) {
      const result = await timeFile();
      runs.push(result.seconds);
      layers = result.layers;
    }
    let svdTotal = 0;
    for (const [values, r, c] of layers) {
      const file = path.join(tmpDir, `layer_${r}x${c}.npy`);
      writeNpy(file, values, r, c);
      const times: number[] = [];
      for (let rep = 0; rep < 5; rep++) times.push((await python.ask<{ wall: number }>("svd", file)).wall);
      svdTotal += min(times);
      checkpointSvd = svdTotal;
      rmSync(file);
    }
    e2e.push(
      `| mlp_batchsize/bs0032.safetensors (${layers.map(([, r, c]) => `${r}x${c}`).join(", ")}): read + all layers' eigenvalues | ${fmt(min(runs))} | numpy svd of the same matrices: ${fmt(svdTotal)} |`,
    );
  }
  const cli = path.join(repoRoot, "build", "cli", "bin.js");
  if (existsSync(cli)) {
    const layerFile = path.join(tmpDir, "layer_2048x4096.safetensors");
    const layerValues = randomMatrix(2048 * 4096, 5);
    writeSafetensorsLayer(layerFile, layerValues, 2048, 4096);
    // The reference for the end-to-end rows: numpy's SVD of the same matrices (weightwatcher's path).
    const layerNpy = path.join(tmpDir, "layer_2048x4096.npy");
    writeNpy(layerNpy, layerValues, 2048, 4096);
    const layerSvd: number[] = [];
    for (let rep = 0; rep < 3; rep++) layerSvd.push((await python.ask<{ wall: number }>("svd", layerNpy)).wall);
    rmSync(layerNpy);
    const targets: Array<[string, string]> = [[checkpoint, `numpy svd of its matrices: ${fmt(checkpointSvd)}`], [layerFile, `numpy svd of the matrix: ${fmt(min(layerSvd))}`]];
    for (const [target, reference] of targets.filter(([f]) => existsSync(f))) {
      const t0 = performance.now();
      const run = spawnSync(process.execPath, [cli, "analyze", target, "--format", "json"], { encoding: "utf8", maxBuffer: 1 << 28 });
      const seconds = (performance.now() - t0) / 1e3;
      const status = run.status === 0 ? "exit 0" : `exit ${run.status}: ${(run.stderr ?? "").trim().split("\n")[0]}`;
      e2e.push(`| \`alphawatch analyze ${path.basename(target)} --format json\` (CLI, end to end, ${status}) | ${fmt(seconds)} | ${reference} |`);
    }
    rmSync(layerFile);
  } else {
    e2e.push("| `alphawatch analyze` CLI | - | build/cli/bin.js not built at benchmark time |");
  }
  python.close();
  for (const line of e2e) console.log(line);

  const total = (performance.now() - started) / 1e3;
  const generated = [
    "<!-- bench:begin (written by `npm run bench`; edits between these markers are overwritten) -->",
    `Run of ${new Date().toISOString().slice(0, 10)} (${total.toFixed(0)} s in all).`,
    "",
    ...machine.map((line) => `- ${line}`),
    `- Kernel memory after the largest case: ${(peakMemory / 2 ** 20).toFixed(2)} MiB ` +
      `(bytesNeeded(4096, ${BLOCK_ROWS}) = ${(kernel.bytesNeeded(4096, BLOCK_ROWS) / 2 ** 20).toFixed(2)} MiB).`,
    "",
    "Gram + eigenvalues of X = WᵀW (M = smaller side):",
    "",
    ...rows,
    "",
    "End to end:",
    "",
    "| what | time | reference |",
    "|---|---|---|",
    ...e2e,
    "<!-- bench:end -->",
  ].join("\n");
  writePerformanceDoc(generated);
  console.log(`bench done in ${total.toFixed(0)} s; figures written to docs/performance.md`);
}

function writePerformanceDoc(generated: string): void {
  const doc = path.join(repoRoot, "docs", "performance.md");
  const previous = existsSync(doc) ? readFileSync(doc, "utf8") : "# Performance\n";
  const begin = previous.indexOf("<!-- bench:begin");
  const end = previous.indexOf("<!-- bench:end -->");
  const next =
    begin >= 0 && end > begin
      ? previous.slice(0, begin) + generated + previous.slice(end + "<!-- bench:end -->".length)
      : `${previous.trimEnd()}\n\n## Measured\n\n${generated}\n`;
  mkdirSync(path.dirname(doc), { recursive: true });
  writeFileSync(doc, next);
}

await main();
