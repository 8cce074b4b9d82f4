/** The Worker: the HTTP API, the JOBS queue consumer and the cron scan. */
import { createApp } from "./app.js";
import type { Env } from "./env.js";
import { consumeJobs } from "./fanout/consumer.js";
import type { JobMessage } from "./fanout/messages.js";
import { scanRegistry } from "./scan/scheduled.js";

const app = createApp();

export default {
  fetch: app.fetch,
  async queue(batch, env, _ctx) {
    await consumeJobs(batch, env);
  },
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(scanRegistry(env).then(() => undefined));
  },
} satisfies ExportedHandler<Env, JobMessage>;

export type { Env };
