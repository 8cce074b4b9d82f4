/**
 * A local stand-in for github.com on 127.0.0.1: the REST API endpoints the Action uses (every request
 * checked against GitHub's OpenAPI description, answers shaped like GitHub's, with Link pagination
 * headers), and a Git LFS server (batch API + object downloads with Range) that counts the bytes it
 * serves per object.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { GitHubOpenApi } from "./github-openapi.js";

export interface DiffEntry {
  filename: string;
  status: "added" | "removed" | "modified" | "renamed";
  previous_filename?: string;
  sha: string;
}

export interface FakeComment {
  id: number;
  body: string;
  issue: number;
  created_at: string;
  updated_at: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  operationId?: string;
  body?: unknown;
}

export interface FakeGitHubOptions {
  owner: string;
  repo: string;
  token: string;
  /** Page size cap (GitHub: 100); small values force pagination. */
  maxPerPage?: number;
}

let openApi: GitHubOpenApi | undefined;

export class FakeGitHub {
  readonly requests: RecordedRequest[] = [];
  /** Every way a request (or the fake's answer) departed from the OpenAPI description. */
  readonly problems: string[] = [];
  readonly comments: FakeComment[] = [];
  readonly pulls = new Map<number, { headSha: string; files: DiffEntry[] }>();
  /** LFS objects by oid. */
  readonly lfsObjects = new Map<string, Uint8Array>();
  /** Body bytes sent per LFS oid. */
  readonly lfsBytesServed = new Map<string, number>();
  /** Objects asked for in LFS batch requests. */
  readonly lfsBatchOids: string[] = [];
  /** When set, write requests get 403 (a fork's read-only token). */
  readOnly = false;
  private nextCommentId = 1000;
  private server: Server | undefined;
  private readonly lfsDownloadToken = `lfs-${Math.random().toString(36).slice(2)}`;
  baseUrl = "";

  constructor(readonly options: FakeGitHubOptions) {
    openApi ??= new GitHubOpenApi();
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.problems.push(`fake server error: ${String(error)}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  lfsBytesTotal(): number {
    return [...this.lfsBytesServed.values()].reduce((a, b) => a + b, 0);
  }

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.baseUrl);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const { owner, repo } = this.options;
    if (url.pathname === `/${owner}/${repo}.git/info/lfs/objects/batch`) return this.lfsBatch(req, res, raw);
    if (url.pathname.startsWith("/lfs-objects/")) return this.lfsObject(req, res, url.pathname.slice("/lfs-objects/".length));

    let body: unknown = undefined;
    if (raw.byteLength > 0) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        this.problems.push(`${req.method} ${url.pathname}: body is not JSON`);
        return this.json(res, 400, { message: "Problems parsing JSON" });
      }
    }
    const method = req.method ?? "GET";
    const { problems, operation } = openApi!.validateRequest(method, url, body, req.headers["content-type"]);
    this.requests.push({ method, path: url.pathname + url.search, ...(operation === undefined ? {} : { operationId: operation.operationId }), ...(body === undefined ? {} : { body }) });
    if (problems.length > 0) {
      this.problems.push(...problems);
      return this.json(res, 422, { message: "Validation Failed", errors: problems });
    }
    const auth = req.headers.authorization ?? "";
    if (auth !== `token ${this.options.token}` && auth !== `Bearer ${this.options.token}`) {
      return this.json(res, 401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" });
    }
    if (req.headers["user-agent"] === undefined) this.problems.push(`${method} ${url.pathname}: no User-Agent (GitHub refuses such requests)`);
    if (operation!.params.owner !== owner || operation!.params.repo !== repo) return this.json(res, 404, { message: "Not Found" });
    const respond = (status: number, payload: unknown, headers: Record<string, string> = {}, validate = true) => {
      if (validate) this.problems.push(...openApi!.validateResponse(method, url.pathname, status, payload));
      this.json(res, status, payload, headers);
    };
    const p = operation!.params;
    switch (operation!.operationId) {
      case "pulls/list-files": {
        const pull = this.pulls.get(Number(p.pull_number));
        if (pull === undefined) return respond(404, { message: "Not Found" }, {}, false);
        const page = this.page(url, pull.files.map((f) => this.diffEntry(f)));
        return respond(200, page.items, page.headers);
      }
      case "pulls/get": {
        const pull = this.pulls.get(Number(p.pull_number));
        if (pull === undefined) return respond(404, { message: "Not Found" }, {}, false);
        // Only the fields the Action reads; the full pull-request object is not reproduced.
        return respond(200, { number: Number(p.pull_number), head: { sha: pull.headSha } }, {}, false);
      }
      case "issues/list-comments": {
        const page = this.page(url, this.comments.filter((c) => c.issue === Number(p.issue_number)).map((c) => this.commentView(c)));
        return respond(200, page.items, page.headers);
      }
      case "issues/create-comment": {
        if (this.readOnly) return respond(403, { message: "Resource not accessible by integration", documentation_url: "https://docs.github.com/rest" });
        const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
        const comment: FakeComment = { id: this.nextCommentId++, body: (body as { body: string }).body, issue: Number(p.issue_number), created_at: now, updated_at: now };
        this.comments.push(comment);
        return respond(201, this.commentView(comment), { location: `${this.baseUrl}/repos/${owner}/${repo}/issues/comments/${comment.id}` });
      }
      case "issues/update-comment": {
        if (this.readOnly) return respond(403, { message: "Resource not accessible by integration" }, {}, false);
        const comment = this.comments.find((c) => c.id === Number(p.comment_id));
        if (comment === undefined) return respond(404, { message: "Not Found" }, {}, false);
        comment.body = (body as { body: string }).body;
        comment.updated_at = new Date().toISOString().replace(/\.\d+Z$/, "Z");
        return respond(200, this.commentView(comment));
      }
      default:
        this.problems.push(`unexpected operation ${operation!.operationId}`);
        return respond(404, { message: "Not Found" }, {}, false);
    }
  }

  /** One page of `items` per GitHub's rules: per_page (default 30, max 100), page from 1, Link header. */
  private page<T>(url: URL, items: T[]): { items: T[]; headers: Record<string, string> } {
    const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 30), 100, this.options.maxPerPage ?? 100);
    const page = Number(url.searchParams.get("page") ?? 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (n: number, rel: string) => {
      const u = new URL(url);
      u.searchParams.set("page", String(n));
      return `<${u.href}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page < last) links.push(link(page + 1, "next"), link(last, "last"));
    if (page > 1) links.push(link(1, "first"), link(page - 1, "prev"));
    return { items: items.slice((page - 1) * perPage, page * perPage), headers: links.length > 0 ? { link: links.join(", ") } : {} };
  }

  private diffEntry(f: DiffEntry): Record<string, unknown> {
    const { owner, repo } = this.options;
    const blob = `https://github.com/${owner}/${repo}/blob/${f.sha}/${encodeURI(f.filename)}`;
    return {
      sha: f.sha,
      filename: f.filename,
      status: f.status,
      additions: 0,
      deletions: 0,
      changes: 0,
      blob_url: blob,
      raw_url: blob.replace("/blob/", "/raw/"),
      contents_url: `${this.baseUrl}/repos/${owner}/${repo}/contents/${encodeURI(f.filename)}?ref=${f.sha}`,
      ...(f.previous_filename === undefined ? {} : { previous_filename: f.previous_filename }),
    };
  }

  private commentView(c: FakeComment): Record<string, unknown> {
    const { owner, repo } = this.options;
    const api = `${this.baseUrl}/repos/${owner}/${repo}`;
    const bot = "https://api.github.com/users/github-actions%5Bbot%5D";
    return {
      id: c.id,
      node_id: `IC_${c.id}`,
      url: `${api}/issues/comments/${c.id}`,
      html_url: `https://github.com/${owner}/${repo}/pull/${c.issue}#issuecomment-${c.id}`,
      body: c.body,
      user: {
        login: "github-actions[bot]",
        id: 41898282,
        node_id: "MDM6Qm90NDE4OTgyODI=",
        avatar_url: "https://avatars.githubusercontent.com/in/15368?v=4",
        gravatar_id: "",
        url: bot,
        html_url: "https://github.com/apps/github-actions",
        followers_url: `${bot}/followers`,
        following_url: `${bot}/following{/other_user}`,
        gists_url: `${bot}/gists{/gist_id}`,
        starred_url: `${bot}/starred{/owner}{/repo}`,
        subscriptions_url: `${bot}/subscriptions`,
        organizations_url: `${bot}/orgs`,
        repos_url: `${bot}/repos`,
        events_url: `${bot}/events{/privacy}`,
        received_events_url: `${bot}/received_events`,
        type: "Bot",
        site_admin: false,
      },
      created_at: c.created_at,
      updated_at: c.updated_at,
      issue_url: `${api}/issues/${c.issue}`,
      author_association: "NONE",
    };
  }

  // ------------------------------------------------------------------ Git LFS

  private lfsBatch(req: IncomingMessage, res: ServerResponse, raw: Buffer): void {
    const lfsType = "application/vnd.git-lfs+json";
    const expectedAuth = `Basic ${Buffer.from(`x-access-token:${this.options.token}`).toString("base64")}`;
    if (req.method !== "POST" || !String(req.headers["content-type"]).startsWith(lfsType) || !String(req.headers.accept).startsWith(lfsType)) {
      this.problems.push(`LFS batch: bad method or media type (${req.method}, ${req.headers["content-type"]}, ${req.headers.accept})`);
      return this.json(res, 406, { message: "Not Acceptable" });
    }
    if (req.headers.authorization !== expectedAuth) return this.json(res, 401, { message: "Credentials needed" }, { "lfs-authenticate": 'Basic realm="Git LFS"' });
    const body = JSON.parse(raw.toString("utf8")) as { operation?: string; objects?: Array<{ oid: string; size: number }> };
    if (body.operation !== "download" || !Array.isArray(body.objects)) {
      this.problems.push(`LFS batch: invalid body ${raw.toString("utf8").slice(0, 200)}`);
      return this.json(res, 422, { message: "Validation error" });
    }
    const objects = body.objects.map(({ oid, size }) => {
      this.lfsBatchOids.push(oid);
      const bytes = this.lfsObjects.get(oid);
      if (bytes === undefined || bytes.byteLength !== size) return { oid, size, error: { code: 404, message: "Object does not exist" } };
      return {
        oid,
        size,
        authenticated: true,
        actions: { download: { href: `${this.baseUrl}/lfs-objects/${oid}`, header: { Authorization: `RemoteAuth ${this.lfsDownloadToken}` }, expires_in: 3600 } },
      };
    });
    this.json(res, 200, { transfer: "basic", objects, hash_algo: "sha256" }, { "content-type": lfsType });
  }

  private lfsObject(req: IncomingMessage, res: ServerResponse, oid: string): void {
    const bytes = this.lfsObjects.get(oid);
    if (req.headers.authorization !== `RemoteAuth ${this.lfsDownloadToken}`) {
      res.writeHead(403).end();
      return;
    }
    if (bytes === undefined) {
      res.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    let start = 0;
    let end = bytes.byteLength - 1;
    let status = 200;
    const headers: Record<string, string | number> = { "accept-ranges": "bytes", "content-type": "application/octet-stream", etag: `"${oid}"` };
    if (range !== null) {
      start = Number(range[1]);
      end = Math.min(Number(range[2]), bytes.byteLength - 1);
      if (start > end) {
        res.writeHead(416, { "content-range": `bytes */${bytes.byteLength}` }).end();
        return;
      }
      status = 206;
      headers["content-range"] = `bytes ${start}-${end}/${bytes.byteLength}`;
    }
    headers["content-length"] = end - start + 1;
    res.writeHead(status, headers);
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    this.lfsBytesServed.set(oid, (this.lfsBytesServed.get(oid) ?? 0) + end - start + 1);
    res.end(bytes.subarray(start, end + 1));
  }
}
