/**
 * The body of POST /v1/series: which checkpoints (R2 keys or a prefix), their labels, and the
 * settings of `alphawatch series`. Validation and the OpenAPI document come from these definitions.
 */
import { z } from "@hono/zod-openapi";
import { SERIES_METRICS } from "../../../core/series/index.js";
import { OptionsSchema } from "../http/schemas.js";

/**
 * Checkpoints one series may hold. Every checkpoint is analyzed (or its analysis looked up) in the
 * request, one after another on the isolate's one kernel: 64 small models (INLINE_MAX_BYTES each)
 * stay well inside one request's CPU limit, and the answer stays a readable table.
 */
export const MAX_SERIES_CHECKPOINTS = 64;

/** Labels text above this is refused: a label table names at most a few thousand files. */
export const MAX_LABELS_TEXT_CHARS = 1024 * 1024;
export const MAX_LABEL_ROWS = 10_000;

const LabelCellSchema = z.union([z.string(), z.number(), z.null()]);

export const SeriesLabelsSchema = z
  .union([
    z
      .object({
        text: z
          .string()
          .min(1)
          .max(MAX_LABELS_TEXT_CHARS)
          .openapi({ description: "CSV or TSV with a header row and a `file` column", example: "file\ttest_acc\nrun/ep1.safetensors\t0.91\n" }),
      })
      .strict(),
    z
      .object({
        rows: z
          .array(z.record(z.string(), LabelCellSchema))
          .min(1)
          .max(MAX_LABEL_ROWS)
          .openapi({ description: "One object per labelled checkpoint, each with a `file` field", example: [{ file: "run/ep1.safetensors", test_acc: 0.91 }] }),
      })
      .strict(),
  ])
  .openapi("SeriesLabels", {
    description: "Labels as a CSV/TSV text or as rows; `file` is matched against each R2 key by exact key, longest trailing part, or base name.",
  });

export const SeriesSourcesSchema = z
  .object({
    r2_keys: z
      .array(z.string().min(1))
      .min(1, { message: "give at least one key" })
      .max(MAX_SERIES_CHECKPOINTS, { message: `a series holds at most ${MAX_SERIES_CHECKPOINTS} checkpoints` })
      .optional(),
    prefix: z.string().min(1).optional().openapi({ description: "Every model file under this prefix (by file ending), in key order" }),
  })
  .strict()
  .refine((sources) => (sources.r2_keys === undefined) !== (sources.prefix === undefined), {
    message: "give either r2_keys or prefix, not both and not neither",
  })
  .openapi("SeriesSources");

export const SeriesRequestSchema = z
  .object({
    sources: SeriesSourcesSchema,
    labels: SeriesLabelsSchema.optional(),
    target: z.string().min(1).optional().openapi({ description: "Labels column to predict (default test_acc)" }),
    group: z.string().min(1).optional().openapi({ description: "Labels column that splits the checkpoints into groups" }),
    test_size: z.number().int().positive().optional().openapi({ description: "Test-set size behind the target, for rows without a test_size column" }),
    target_better: z.enum(["higher", "lower"]).optional(),
    target_kind: z.enum(["proportion", "other"]).optional(),
    min_fit_evals: z.number().int().nonnegative().optional(),
    metric: z
      .enum(SERIES_METRICS as unknown as [string, ...string[]])
      .optional()
      .openapi({ description: "Summary metric of the ranking (smaller is better); default reliable_alpha" }),
    options: OptionsSchema.optional(),
  })
  .strict()
  .openapi("SeriesRequest");

export type SeriesRequest = z.infer<typeof SeriesRequestSchema>;

/** The answer while some checkpoint is still analyzed over the Queue (202), from POST and GET. */
export const SeriesProgressSchema = z
  .object({
    id: z.string(),
    status: z.literal("running"),
    progress: z.object({ analyses_done: z.number().int(), analyses_total: z.number().int() }),
    checkpoints: z.array(z.object({ file: z.string(), analysis_id: z.string(), status: z.string() })),
  })
  .openapi("SeriesProgress");

export const SeriesResultSchema = z
  .object({
    schemaVersion: z.number().int(),
    settings: z.record(z.string(), z.unknown()),
    checkpoints: z.array(z.record(z.string(), z.unknown())),
    metrics: z.record(z.string(), z.unknown()),
    ranking: z.object({ metric: z.string(), order: z.array(z.string()), best: z.string().nullable(), unranked: z.array(z.string()) }),
    notes: z.array(z.string()),
    target_noise: z.unknown().optional(),
    groups: z.unknown().optional(),
  })
  .openapi("SeriesResult", { description: "The same JSON as `alphawatch series --format json` (docs/series.md)." });
