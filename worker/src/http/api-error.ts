/**
 * Every error the API answers is a JSON body `{ "error": { "code", "message" } }` with a fitting
 * status; never a stack trace. Core's typed errors map to statuses by kind.
 */
import type { Context } from "hono";
import { AlphawatchError } from "../../../core/errors.js";

export type ApiErrorStatus = 400 | 401 | 403 | 404 | 409 | 411 | 413 | 415 | 422 | 500 | 501 | 502 | 503;

export class ApiError extends Error {
  constructor(
    readonly status: ApiErrorStatus,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** Status and code for core's error kinds: the client's input is at fault except for `io`. */
const CORE_KIND: Record<AlphawatchError["kind"], { status: ApiErrorStatus; code: string }> = {
  format: { status: 422, code: "bad_model_format" },
  unsupported: { status: 422, code: "unsupported_model" },
  budget: { status: 413, code: "over_budget" },
  usage: { status: 400, code: "bad_request" },
  io: { status: 502, code: "source_unreadable" },
};

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof AlphawatchError) {
    const mapped = CORE_KIND[error.kind];
    return new ApiError(mapped.status, mapped.code, error.message);
  }
  return new ApiError(500, "internal_error", "internal error");
}

/** Hono's onError: the JSON error body; unexpected errors are logged, not shown. */
export function respondWithError(error: unknown, c: Context): Response {
  const apiError = toApiError(error);
  if (apiError.status === 500) console.error("unhandled error:", error);
  return c.json(errorBody(apiError.code, apiError.message), apiError.status);
}
