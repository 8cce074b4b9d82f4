/**
 * The worker-thread pool shared by the CLI (per layer) and the Action (per file): work spreads over
 * every thread, notes reach the task's listener before its reply, transferred buffers move, and a
 * dying worker fails its task while the others carry on.
 */
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { WorkerPool } from "../../cli/worker-pool.js";

type Task = { op: "echo"; bytes?: Uint8Array } | { op: "exit" };
type Reply = { kind: "reply"; threadId: number; length: number };
type Note = { kind: "note"; step: number };

// A worker that notes two steps, then answers with its thread id and the length of the bytes it got.
const WORKER_SOURCE = `
const { parentPort, threadId } = require("node:worker_threads");
parentPort.on("message", (task) => {
  if (task.op === "exit") process.exit(3);
  parentPort.postMessage({ kind: "note", step: 1 });
  parentPort.postMessage({ kind: "note", step: 2 });
  parentPort.postMessage({ kind: "reply", threadId, length: task.bytes === undefined ? 0 : task.bytes.byteLength });
});
`;

let pool: WorkerPool<Task, Reply, Note> | undefined;

function startPool(size: number): WorkerPool<Task, Reply, Note> {
  pool = new WorkerPool<Task, Reply, Note>(size, () => new Worker(WORKER_SOURCE, { eval: true }), {
    label: "test worker",
    isNote: (message): message is Note => message.kind === "note",
  });
  return pool;
}

afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe("WorkerPool", () => {
  it("gives each task to the worker idle longest, so tasks one after the other still use every thread", async () => {
    const workers = startPool(2);
    const [a, b] = workers.threadIds;
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) seen.push((await workers.run({ task: { op: "echo" } })).threadId);
    expect(seen).toEqual([a, b, a, b]);
  });

  it("reports the thread that takes a task, forwards its notes in order, then resolves with the reply", async () => {
    const workers = startPool(1);
    const events: string[] = [];
    const reply = await workers.run({
      task: { op: "echo" },
      onStart: (threadId) => events.push(`start ${threadId}`),
      onNote: (note) => events.push(`note ${note.step}`),
    });
    expect(events).toEqual([`start ${workers.threadIds[0]}`, "note 1", "note 2"]);
    expect(reply).toEqual({ kind: "reply", threadId: workers.threadIds[0], length: 0 });
  });

  it("moves transferred buffers instead of copying them", async () => {
    const workers = startPool(1);
    const bytes = new Uint8Array(1000).fill(7);
    const reply = await workers.run({ task: { op: "echo", bytes }, transfer: [bytes.buffer] });
    expect(reply.length).toBe(1000);
    // The sender's view is detached: the memory belongs to the worker now.
    expect(bytes.byteLength).toBe(0);
  });

  it("fails the task of a worker that exits and runs the rest on the survivors", async () => {
    const workers = startPool(2);
    await expect(workers.run({ task: { op: "exit" } })).rejects.toThrow("test worker exited with code 3");
    expect(workers.threadIds).toHaveLength(1);
    const replies = await Promise.all([1, 2, 3].map(() => workers.run({ task: { op: "echo" } })));
    expect(new Set(replies.map((r) => r.threadId))).toEqual(new Set(workers.threadIds));
  });

  it("refuses tasks once every worker is gone, instead of queueing them forever", async () => {
    const workers = startPool(1);
    await expect(workers.run({ task: { op: "exit" } })).rejects.toThrow("test worker exited with code 3");
    await expect(workers.run({ task: { op: "echo" } })).rejects.toThrow("test worker exited with code 3");
  });
});
