/**
 * A local stand-in for the alphawatch Worker API routes the Action's `api-url` mode uses: object
 * upload, analysis (answered 202 first, so that the Action polls), and the analysis status. The
 * analysis itself runs core's analyze() in the test process, as the Worker would.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { analyze } from "../../core/analyze.js";
import { bytesSource } from "../../core/formats/byte-source.js";
import type { Report } from "../../core/report.js";
import { loadSpectralKernel } from "../../cli/load-kernel.js";

export class FakeWorkerApi {
  readonly objects = new Map<string, Uint8Array>();
  readonly calls: string[] = [];
  readonly problems: string[] = [];
  private readonly analyses = new Map<string, { polls: number; report: Promise<Report> }>();
  private server: Server | undefined;
  baseUrl = "";

  constructor(readonly key: string) {}

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? "/", this.baseUrl);
      this.calls.push(`${req.method} ${url.pathname}`);
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(payload));
      };
      if (req.headers.authorization !== `Bearer ${this.key}`) return send(401, { error: { code: "unauthorized", message: "missing or malformed key" } });
      if (req.method === "PUT" && url.pathname.startsWith("/v1/objects/")) {
        if (req.headers["content-type"] !== "application/octet-stream") this.problems.push(`PUT: content-type ${req.headers["content-type"]}`);
        const key = decodeURIComponent(url.pathname.slice("/v1/objects/".length));
        this.objects.set(key, new Uint8Array(body));
        return send(201, { key, size: body.byteLength, etag: "e" });
      }
      if (req.method === "POST" && url.pathname === "/v1/analyses") {
        const request = JSON.parse(body.toString("utf8")) as { source?: { r2_key?: string }; options?: unknown };
        const bytes = this.objects.get(request.source?.r2_key ?? "");
        if (bytes === undefined) return send(404, { error: { code: "not_found", message: `object ${request.source?.r2_key} does not exist` } });
        if (Object.keys(request).some((k) => !["source", "options", "model", "version"].includes(k))) this.problems.push(`POST /v1/analyses: unknown field in ${JSON.stringify(request)}`);
        const id = randomUUID();
        const report = loadSpectralKernel().then((kernel) => analyze(bytesSource(bytes, request.source!.r2_key!), {}, { kernel }));
        this.analyses.set(id, { polls: 0, report });
        return send(202, { id, status: "running", progress: { layers_done: 0, layers_total: 3 } });
      }
      const match = /^\/v1\/analyses\/([0-9a-f-]+)$/.exec(url.pathname);
      if (req.method === "GET" && match !== null) {
        const analysis = this.analyses.get(match[1]!);
        if (analysis === undefined) return send(404, { error: { code: "not_found", message: "no such analysis" } });
        analysis.polls++;
        if (analysis.polls < 2) return send(200, { id: match[1], status: "running" });
        return send(200, { id: match[1], status: "done", report: await analysis.report });
      }
      send(404, { error: { code: "not_found", message: `${req.method} ${url.pathname}` } });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
