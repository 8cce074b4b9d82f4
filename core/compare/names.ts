/**
 * Layer names across containers. A Hugging Face Llama checkpoint and its llama.cpp GGUF name the
 * same weight differently (`model.layers.3.mlp.down_proj` / `blk.3.ffn_down`); both are mapped to
 * one canonical name, the Hugging Face name without its `model.` prefix, so a comparison can pair them.
 */

/** llama.cpp block tensor → Hugging Face module path inside `layers.N`. */
const GGUF_BLOCK_TO_HF: Readonly<Record<string, string>> = {
  attn_q: "self_attn.q_proj",
  attn_k: "self_attn.k_proj",
  attn_v: "self_attn.v_proj",
  attn_output: "self_attn.o_proj",
  ffn_gate: "mlp.gate_proj",
  ffn_up: "mlp.up_proj",
  ffn_down: "mlp.down_proj",
  attn_norm: "input_layernorm",
  ffn_norm: "post_attention_layernorm",
  // Mixture-of-experts routers and stacked experts, as llama.cpp names Mixtral-style blocks.
  ffn_gate_inp: "block_sparse_moe.gate",
};

/** llama.cpp top-level tensor → Hugging Face name (without `model.`). */
const GGUF_TOP_TO_HF: Readonly<Record<string, string>> = {
  token_embd: "embed_tokens",
  output_norm: "norm",
  output: "lm_head",
};

const PARAMETER_SUFFIX = /\.(weight|bias)$/;
const GGUF_BLOCK = /^blk\.(\d+)\.([a-z_]+)$/;

/** A layer name without a trailing `.weight` / `.bias` (tensor names and module names then agree). */
export function stripParameterSuffix(name: string): string {
  return name.replace(PARAMETER_SUFFIX, "");
}

/**
 * Canonical name of a layer for cross-container matching: GGUF names are translated to Hugging
 * Face names, and the `model.` prefix that only some Hugging Face classes carry is dropped.
 * Names that follow neither convention come back unchanged (minus a parameter suffix).
 */
export function canonicalLayerName(name: string): string {
  const bare = stripParameterSuffix(name);
  const block = GGUF_BLOCK.exec(bare);
  if (block !== null) {
    const hf = GGUF_BLOCK_TO_HF[block[2]!];
    if (hf !== undefined) return `layers.${block[1]}.${hf}`;
  }
  const top = GGUF_TOP_TO_HF[bare];
  if (top !== undefined) return top;
  return bare.startsWith("model.") ? bare.slice("model.".length) : bare;
}
