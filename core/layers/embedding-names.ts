/**
 * Name rule for embedding tables read from containers that record no layer classes (safetensors,
 * state dicts, npz, GGUF): spec §2.3. Applied to the layer name (the key without `.weight`).
 */

/** Last dotted components that name an embedding table in common model families. */
const EMBEDDING_COMPONENTS: ReadonlySet<string> = new Set([
  "embed_tokens", // Llama, Mistral, OPT, BART, T5
  "wte", // GPT-2 token embeddings
  "wpe", // GPT-2 position embeddings
  "word_embeddings", // BERT family, BLOOM
  "position_embeddings",
  "token_type_embeddings",
  "tok_embeddings", // Meta's original Llama names, llama2.c
  "embed_in", // GPT-NeoX
  "embed_positions", // OPT, BART
  "token_embd", // GGUF
  "position_embd",
  "token_types",
]);

/** True when the layer name says it is an embedding table. */
export function isEmbeddingName(layerName: string): boolean {
  if (layerName === "shared") return true; // T5's shared input embedding
  const last = layerName.slice(layerName.lastIndexOf(".") + 1);
  return EMBEDDING_COMPONENTS.has(last) || last.endsWith("embeddings") || last.endsWith("embedding");
}
