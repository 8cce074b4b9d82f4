import { it } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { fitMarchenkoPastur } from "../core/metrics/mp-fit.js";
it("x", () => {
  for (const c of readdirSync("../shared/oracle/golden")) {
    if (c.endsWith(".json")) continue;
    const g = JSON.parse(readFileSync(`../shared/oracle/golden/${c}/mp_fit.json`, "utf8"));
    const keys = Object.keys(g.evals);
    g.details.forEach((row: any, i: number) => {
      const ev = g.evals[String(row.layer_id)];
      const t0 = performance.now();
      const f = fitMarchenkoPastur(ev, row.N, row.M)!;
      const dt = performance.now() - t0;
      const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
      console.log(c, row.layer_id, f && [f.num_spikes - row.num_spikes, rel(f.sigma_mp, row.sigma_mp), rel(f.mp_softrank, row.mp_softrank), rel(f.bulk_max, row.bulk_max), rel(f.bulk_min, row.bulk_min), rel(f.W_scale, row.W_scale)].map((v) => v.toExponential(1)).join(" "), dt.toFixed(1));
    });
  }
});
