/** In the Action bundle a `.wasm` import is its bytes (esbuild's binary loader). */
declare module "*.wasm" {
  const bytes: Uint8Array;
  export default bytes;
}
