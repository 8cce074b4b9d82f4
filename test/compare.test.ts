import { describe, expect, it } from "vitest";
import { compareReports, DEFAULT_POLICY, DELTA_METRICS, resolvePolicy } from "../core/compare/index.js";
import { layer, report } from "./compare-fixtures.js";

// weightwatcher 0.7.5.5's own per-layer values (../shared/models/series/ww-0.7.5.5-layers.tsv),
// so the policy is exercised on the numbers the issue quotes without needing the kernel.
const ww = {
  ep0020: [
    { name: "fc1", alpha: 2.4168993108132764, sigma: 0.11848707276521558, log_spectral_norm: 0.9424420736061626, num_evals: 300 },
    { name: "fc2", alpha: 1.953308216176052, sigma: 0.11081982912554847, log_spectral_norm: 1.0176285170133978, num_evals: 100 },
    { name: "fc3", alpha: 7.897910815147243, sigma: 3.4489554075736213, log_spectral_norm: 1.0343426540893148, num_evals: 10 },
  ],
  ep0000: [
    { name: "fc1", alpha: 6.906652342511967, sigma: 0.8708883757068698, log_spectral_norm: -0.06282905763794344, num_evals: 300 },
    { name: "fc2", alpha: 14.297184101200147, sigma: 4.701264524322285, log_spectral_norm: -0.08142291525952293, num_evals: 100 },
    { name: "fc3", alpha: 4.0179606648969814, sigma: 1.0670102257514587, log_spectral_norm: -0.28886222326144195, num_evals: 10 },
  ],
  bs0032: [
    { name: "fc1", alpha: 2.339164105696164, sigma: 0.11007861140606692, log_spectral_norm: 0.9802166304203342, num_evals: 300 },
    { name: "fc2", alpha: 1.9083484829197053, sigma: 0.1035159167397672, log_spectral_norm: 1.0910121714261447, num_evals: 100 },
    { name: "fc3", alpha: 8.732292513280399, sigma: 3.8661462566401994, log_spectral_norm: 1.1075520168585378, num_evals: 10 },
  ],
  bs1024: [
    { name: "fc1", alpha: 3.2376498864285, sigma: 0.21335154545392235, log_spectral_norm: 0.5372920820830145, num_evals: 300 },
    { name: "fc2", alpha: 2.5253197401788103, sigma: 0.22016094064812156, log_spectral_norm: 0.5390775423782931, num_evals: 100 },
    { name: "fc3", alpha: 3.2720994418279985, sigma: 0.8587728681550787, log_spectral_norm: 0.5792624126596194, num_evals: 10 },
  ],
};
const wwReport = (key: keyof typeof ww) => report(key, ww[key].map((fields) => layer(fields)));

describe("compareReports on weightwatcher's numbers", () => {
  it("trained → untrained initialization fails, naming fc1 and fc2", () => {
    const c = compareReports(wwReport("ep0020"), wwReport("ep0000"));
    expect(c.verdict).toBe("fail");
    const fc1 = c.layers.find((l) => l.name === "fc1")!;
    const fc2 = c.layers.find((l) => l.name === "fc2")!;
    expect(fc1.verdict).toBe("fail");
    expect(fc2.verdict).toBe("fail");
    expect(fc1.changes.alpha.delta).toBeCloseTo(4.4897530317, 9);
    expect(fc1.sigma_combined).toBeCloseTo(Math.hypot(0.11848707276521558, 0.8708883757068698), 12);
    expect(fc1.alpha_z).toBeCloseTo(5.1083, 3);
    expect(fc2.alpha_z).toBeCloseTo(2.6249, 3);
    expect(c.reasons[0]).toBe("Mean alpha rose from 2.19 to 10.60 (+8.42, 3.5 combined standard errors) over the layers that decide.");
    expect(c.reasons).toContain("fc1: alpha rose from 2.42 to 6.91 (+4.49, 5.1 combined standard errors).");
    expect(c.reasons).toContain("fc2: alpha rose above 6 (1.95 → 14.30): the layer now looks under-trained, close to random.");
    expect(c.reasons).toContain("fc1: spectral norm shrank 10-fold (log_spectral_norm 0.94 → -0.06): scale collapse.");
    // fc3 rests on 10 eigenvalues: reported, not deciding.
    const fc3 = c.layers.find((l) => l.name === "fc3")!;
    expect(fc3.deciding).toBe(false);
    expect(fc3.verdict).toBe("pass");
    expect(fc3.findings.map((f) => f.severity)).toEqual(["info"]);
    expect(fc3.findings[0]!.message).toBe(
      "fc3: spectral norm shrank 21-fold (log_spectral_norm 1.03 → -0.29): scale collapse (reported only: the fit rests on 10 eigenvalues, fewer than 50).",
    );
    expect(c.summary.layers_failed).toBe(2);
  });

  it("untrained → trained does not fail (fc2 only warns: it became over-trained)", () => {
    const c = compareReports(wwReport("ep0000"), wwReport("ep0020"));
    expect(c.verdict).toBe("warn");
    expect(c.reasons).toEqual(["fc2: alpha fell below 2 (14.30 → 1.95): the layer may be over-trained."]);
  });

  it("batch 32 → 1024 fails on fc1 (3.7 combined sigmas) and warns on fc2 (2.5)", () => {
    const c = compareReports(wwReport("bs0032"), wwReport("bs1024"));
    expect(c.verdict).toBe("fail");
    const fc1 = c.layers.find((l) => l.name === "fc1")!;
    const fc2 = c.layers.find((l) => l.name === "fc2")!;
    expect(fc1.alpha_z).toBeCloseTo(3.7425, 3);
    expect(fc1.verdict).toBe("fail");
    expect(fc2.alpha_z).toBeCloseTo(2.5360, 3);
    expect(fc2.verdict).toBe("warn");
    expect(c.reasons).toContain("fc1: alpha rose from 2.34 to 3.24 (+0.90, 3.7 combined standard errors).");
    expect(c.reasons).toContain("fc2: alpha rose from 1.91 to 2.53 (+0.62, 2.5 combined standard errors).");
    expect(c.reasons).toContain("fc2: spectral norm shrank 3.6-fold (log_spectral_norm 1.09 → 0.54): scale collapse.");
  });

  it("a report against itself passes with every delta exactly zero", () => {
    const c = compareReports(wwReport("bs0032"), wwReport("bs0032"));
    expect(c.verdict).toBe("pass");
    expect(c.reasons).toEqual(["No regression: 2 matched layers checked, none got worse under the policy; 1 small layer reported only."]);
    for (const l of c.layers) {
      for (const metric of DELTA_METRICS) {
        const change = l.changes[metric];
        if (metric === "rand_num_spikes") expect(change).toEqual({ base: null, head: null, delta: null });
        else expect(change.delta).toBe(0);
      }
    }
  });
});

describe("policy rules", () => {
  const base = report("base", [layer({ name: "a", alpha: 3, num_pl_spikes: 100 })]);

  it("an alpha rise must pass both the sigma test and the floor", () => {
    // sigma = 0.2 each side → combined 0.283; 3σ = 0.85 > floor 0.5.
    const small = compareReports(base, report("head", [layer({ name: "a", alpha: 3.6, sigma: 0.2 })]));
    expect(small.layers[0]!.findings.map((f) => [f.rule, f.severity])).toEqual([["alpha_rise", "warn"]]);
    const large = compareReports(base, report("head", [layer({ name: "a", alpha: 3.9, sigma: 0.2 })]));
    expect(large.layers[0]!.verdict).toBe("fail");
    // Tiny sigmas: the floor decides (0.2 < the layer's warn floor 0.25, > the mean's 0.1).
    const tiny = compareReports(
      report("b", [layer({ name: "a", alpha: 3, sigma: 0.001 })]),
      report("h", [layer({ name: "a", alpha: 3.2, sigma: 0.001 })]),
    );
    expect(tiny.layers[0]!.findings).toEqual([]);
    expect(tiny.findings.map((f) => [f.rule, f.severity])).toEqual([["mean_alpha_rise", "warn"]]);
    expect(compareReports(base, report("h", [layer({ name: "a", alpha: 3.05, sigma: 0.001 })])).verdict).toBe("pass");
  });

  it("each rule can be switched off", () => {
    const head = report("head", [layer({ name: "a", alpha: 7, log_spectral_norm: -1 })]);
    expect(compareReports(base, head).verdict).toBe("fail");
    const off = compareReports(base, head, {
      alpha_rise: { enabled: false },
      alpha_range: { enabled: false },
      scale_collapse: { enabled: false },
      mean_alpha_rise: { enabled: false },
    });
    expect(off.verdict).toBe("pass");
    expect(off.policy.alpha_rise.warn).toEqual(DEFAULT_POLICY.alpha_rise.warn);
  });

  it("a correlation trap appearing fails; not measured is said, not guessed", () => {
    const b = report("b", [layer({ name: "a", alpha: 3, rand_num_spikes: 0 })]);
    const h = report("h", [layer({ name: "a", alpha: 3, rand_num_spikes: 2 })]);
    const c = compareReports(b, h);
    expect(c.verdict).toBe("fail");
    expect(c.reasons).toEqual(["a: a correlation trap appeared (2 randomized eigenvalues beyond the random bulk)."]);
    expect(c.base.num_traps).toBe(0);
    expect(c.head.num_traps).toBe(1);
    expect(compareReports(base, base).head.num_traps).toBeNull();
  });

  it("min_evals 0 lets small layers decide", () => {
    const b = report("b", [layer({ name: "out", alpha: 3, num_evals: 10, sigma: 0.1 })]);
    const h = report("h", [layer({ name: "out", alpha: 7, num_evals: 10, sigma: 0.1 })]);
    expect(compareReports(b, h).verdict).toBe("pass");
    expect(compareReports(b, h, { min_evals: 0 }).verdict).toBe("fail");
  });

  it("a failed fit in head warns and its fit-derived deltas are null", () => {
    const c = compareReports(base, report("h", [layer({ name: "a", alpha: null })]));
    expect(c.verdict).toBe("warn");
    expect(c.layers[0]!.changes.alpha).toEqual({ base: 3, head: null, delta: null });
    expect(c.layers[0]!.warnings_appeared).toEqual(["fit-failed"]);
  });

  it("resolvePolicy rejects an inverted alpha range", () => {
    expect(() => resolvePolicy({ alpha_range: { low: 6, high: 2 } })).toThrow("alpha_range.low (6) must be below alpha_range.high (2)");
  });
});

describe("structure", () => {
  it("calls out added, removed, renamed, reshaped and dtype-changed layers", () => {
    const b = report("b", [
      layer({ name: "keep", alpha: 3, dtype: "F32" }),
      layer({ name: "old_name", alpha: 3, norm: 12.5, lambda_max: 7.25 }),
      layer({ name: "gone", alpha: 3, norm: 1 }),
      layer({ name: "grow", alpha: 3, N: 784, M: 300 }),
    ]);
    const h = report("h", [
      layer({ name: "keep", alpha: 3, dtype: "BF16" }),
      layer({ name: "new_name", alpha: 3, norm: 12.5, lambda_max: 7.25 }),
      layer({ name: "grow", alpha: 3, N: 784, M: 400, num_evals: 400 }),
      layer({ name: "fresh", alpha: 3, norm: 2 }),
    ]);
    const c = compareReports(b, h);
    expect(c.layers.map((l) => [l.name, l.base_name, l.match])).toEqual([
      ["keep", "keep", "name"],
      ["new_name", "old_name", "renamed"],
      ["grow", "grow", "name"],
    ]);
    expect(c.layers[0]!.dtype_changed).toBe(true);
    expect(c.layers[2]!.reshaped).toBe(true);
    expect(c.added.map((l) => l.name)).toEqual(["fresh"]);
    expect(c.removed.map((l) => l.name)).toEqual(["gone"]);
    expect(c.verdict).toBe("warn");
    expect(c.reasons).toEqual([
      "gone: layer is missing from head (present in base), so it was not compared.",
      "grow: shape changed from 784×300 to 784×400.",
    ]);
  });
});
