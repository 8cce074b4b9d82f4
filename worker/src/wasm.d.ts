/** wrangler's CompiledWasm rule: a `.wasm` import is a compiled module (workerd forbids runtime compilation). */
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
