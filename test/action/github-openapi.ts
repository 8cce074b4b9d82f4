/**
 * Checks HTTP requests (and the fake's own answers) against GitHub's official OpenAPI description of
 * api.github.com, from the npm package @octokit/openapi: the operation must exist, path and query
 * parameters must be declared and of the declared type, the JSON body must match the operation's
 * request schema. Schemas are compiled lazily with ajv straight from the document (refs resolved
 * by JSON pointer), so only the few operations used cost anything.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv, type ValidateFunction } from "ajv";

const require = createRequire(import.meta.url);
const DOCUMENT_ID = "https://api.github.com/openapi.json";

interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: Record<string, unknown>;
  $ref?: string;
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: unknown }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }>;
}
type OpenApiDocument = {
  paths: Record<string, Record<string, Operation>>;
  components: { parameters: Record<string, Parameter>; responses: Record<string, unknown> };
};

export interface MatchedOperation {
  operationId: string;
  params: Record<string, string>;
}

function pointerEscape(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}

export class GitHubOpenApi {
  readonly document: OpenApiDocument;
  private readonly ajv: Ajv;
  private readonly routes: Array<{ template: string; regex: RegExp; names: string[] }>;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(file = require.resolve("@octokit/openapi/generated/api.github.com.json")) {
    this.document = JSON.parse(readFileSync(file, "utf8")) as OpenApiDocument;
    this.ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, logger: false });
    const pattern = {
      "date-time": /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/,
      date: /^\d{4}-\d\d-\d\d$/,
      uri: /^[a-z][a-z0-9+.-]*:\S*$/i,
      email: /^[^@\s]+@[^@\s]+$/,
    };
    for (const [name, regex] of Object.entries(pattern)) this.ajv.addFormat(name, regex);
    for (const name of ["int64", "int32", "double", "repo.nwo", "binary", "uri-template", "timestamp"]) this.ajv.addFormat(name, true);
    this.ajv.addSchema(this.document as object, DOCUMENT_ID);
    this.routes = Object.keys(this.document.paths).map((template) => {
      const names: string[] = [];
      const source = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{([^}]+)\}/g, (_m, name: string) => {
        names.push(name);
        return "([^/]+)";
      });
      return { template, regex: new RegExp(`^${source}$`), names };
    });
  }

  /** The operation for a method and path; the template with the fewest parameters wins a tie. */
  match(method: string, pathname: string): { template: string; operation: Operation; params: Record<string, string> } | undefined {
    let best: { template: string; operation: Operation; params: Record<string, string> } | undefined;
    let bestCount = Infinity;
    for (const route of this.routes) {
      const m = route.regex.exec(pathname);
      const operation = m === null ? undefined : this.document.paths[route.template]![method.toLowerCase()];
      if (m === null || operation === undefined || route.names.length >= bestCount) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1]!)));
      best = { template: route.template, operation, params };
      bestCount = route.names.length;
    }
    return best;
  }

  private validator(pointer: string): ValidateFunction {
    let fn = this.validators.get(pointer);
    if (fn === undefined) {
      fn = this.ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer}` });
      this.validators.set(pointer, fn);
    }
    return fn;
  }

  private parameter(p: Parameter): Parameter {
    if (p.$ref === undefined) return p;
    return this.document.components.parameters[p.$ref.split("/").pop()!]!;
  }

  /** Problems with a request; an empty list when GitHub would accept its shape. */
  validateRequest(method: string, url: URL, body: unknown, contentType: string | undefined): { problems: string[]; operation?: MatchedOperation } {
    const found = this.match(method, url.pathname);
    if (found === undefined) return { problems: [`${method} ${url.pathname}: no such operation in api.github.com`] };
    const { template, operation, params } = found;
    const problems: string[] = [];
    const declared = (operation.parameters ?? []).map((p) => this.parameter(p));
    const coerce = (value: string, schema: Record<string, unknown> | undefined): unknown =>
      schema?.type === "integer" || schema?.type === "number" ? (/^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value) : schema?.type === "boolean" ? value === "true" ? true : value === "false" ? false : value : value;
    const check = (p: Parameter, value: string) => {
      const v = coerce(value, p.schema);
      const fn = this.ajv.compile(p.schema ?? {});
      if (!fn(v)) problems.push(`${p.in} parameter ${p.name}=${JSON.stringify(value)}: ${this.ajv.errorsText(fn.errors)}`);
    };
    for (const p of declared.filter((p) => p.in === "path")) {
      if (params[p.name] === undefined) problems.push(`path parameter ${p.name} missing`);
      else check(p, params[p.name]!);
    }
    const queryDeclared = new Map(declared.filter((p) => p.in === "query").map((p) => [p.name, p]));
    for (const [name, value] of url.searchParams) {
      const p = queryDeclared.get(name);
      if (p === undefined) problems.push(`query parameter ${name} is not declared for ${operation.operationId}`);
      else check(p, value);
    }
    for (const p of queryDeclared.values()) if (p.required && !url.searchParams.has(p.name)) problems.push(`query parameter ${p.name} is required`);
    if (operation.requestBody !== undefined) {
      const json = operation.requestBody.content["application/json"];
      if (body === undefined) {
        if (operation.requestBody.required) problems.push(`${operation.operationId}: request body required`);
      } else if (json === undefined) {
        problems.push(`${operation.operationId}: no JSON body declared`);
      } else {
        if (!(contentType ?? "").startsWith("application/json")) problems.push(`${operation.operationId}: content-type ${contentType} is not application/json`);
        const fn = this.validator(`/paths/${pointerEscape(template)}/${method.toLowerCase()}/requestBody/content/application~1json/schema`);
        if (!fn(body)) problems.push(`${operation.operationId} body: ${this.ajv.errorsText(fn.errors)}`);
      }
    } else if (body !== undefined) {
      problems.push(`${operation.operationId}: takes no request body`);
    }
    return { problems, operation: { operationId: operation.operationId, params } };
  }

  /** Problems with a response body the fake is about to send for `status`. */
  validateResponse(method: string, pathname: string, status: number, body: unknown): string[] {
    const found = this.match(method, pathname);
    if (found === undefined) return [`${method} ${pathname}: no such operation`];
    const response = found.operation.responses[String(status)];
    if (response === undefined) return [`${found.operation.operationId}: status ${status} is not a documented response`];
    if (response.content?.["application/json"] === undefined) return [];
    const fn = this.validator(`/paths/${pointerEscape(found.template)}/${method.toLowerCase()}/responses/${status}/content/application~1json/schema`);
    return fn(body) ? [] : [`${found.operation.operationId} response ${status}: ${this.ajv.errorsText(fn.errors)}`];
  }
}
