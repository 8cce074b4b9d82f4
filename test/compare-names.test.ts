import { describe, expect, it } from "vitest";
import { canonicalLayerName, compareReports, matchLayers } from "../core/compare/index.js";
import { layer, report } from "./compare-fixtures.js";

describe("canonicalLayerName: Hugging Face Llama ↔ llama.cpp GGUF", () => {
  const pairs: Array<[string, string]> = [
    ["model.layers.3.mlp.down_proj", "blk.3.ffn_down"],
    ["model.layers.3.mlp.gate_proj.weight", "blk.3.ffn_gate.weight"],
    ["model.layers.0.mlp.up_proj", "blk.0.ffn_up"],
    ["model.layers.12.self_attn.q_proj", "blk.12.attn_q"],
    ["model.layers.12.self_attn.k_proj", "blk.12.attn_k"],
    ["model.layers.12.self_attn.v_proj", "blk.12.attn_v"],
    ["model.layers.12.self_attn.o_proj", "blk.12.attn_output"],
    ["model.layers.4.input_layernorm", "blk.4.attn_norm"],
    ["model.layers.4.post_attention_layernorm", "blk.4.ffn_norm"],
    ["model.embed_tokens", "token_embd"],
    ["model.norm", "output_norm"],
    ["lm_head", "output"],
  ];
  it.each(pairs)("%s ↔ %s", (hf, gguf) => {
    expect(canonicalLayerName(hf)).toBe(canonicalLayerName(gguf));
  });

  it("gives the Hugging Face name without model. and leaves other names alone", () => {
    expect(canonicalLayerName("blk.3.ffn_down.weight")).toBe("layers.3.mlp.down_proj");
    expect(canonicalLayerName("layers.3.mlp.down_proj")).toBe("layers.3.mlp.down_proj");
    expect(canonicalLayerName("fc1.weight")).toBe("fc1");
    expect(canonicalLayerName("blk.3.unknown_thing")).toBe("blk.3.unknown_thing");
    expect(canonicalLayerName("blk.3.attn_q")).not.toBe(canonicalLayerName("blk.4.attn_q"));
  });
});

describe("matchLayers", () => {
  it("pairs exact names first and container names only for what is left", () => {
    const base = [layer({ name: "model.layers.0.mlp.down_proj", alpha: 3 }), layer({ name: "lm_head", alpha: 3 })];
    const head = [layer({ name: "output", alpha: 3 }), layer({ name: "blk.0.ffn_down", alpha: 3 })];
    const m = matchLayers(base, head);
    expect(m.pairs.map((p) => [p.base.name, p.head.name, p.match])).toEqual([
      ["lm_head", "output", "container"],
      ["model.layers.0.mlp.down_proj", "blk.0.ffn_down", "container"],
    ]);
    expect(m.added).toEqual([]);
    expect(m.removed).toEqual([]);
  });

  it("never guesses between two layers with the same canonical name", () => {
    const base = [layer({ name: "model.lm_head", alpha: 3, norm: 1 }), layer({ name: "lm_head", alpha: 3, norm: 2 })];
    const head = [layer({ name: "output", alpha: 3, norm: 3 })];
    const m = matchLayers(base, head);
    expect(m.pairs).toEqual([]);
    expect(m.added.map((l) => l.name)).toEqual(["output"]);
  });

  it("a report compared with its renamed copy passes with zero deltas", () => {
    const base = report("hf", [layer({ name: "model.layers.1.self_attn.q_proj", alpha: 2.5 })]);
    const head = report("gguf", [layer({ name: "blk.1.attn_q", alpha: 2.5 })]);
    const c = compareReports(base, head);
    expect(c.verdict).toBe("pass");
    expect(c.layers[0]!.changes.alpha.delta).toBe(0);
  });
});
