/** A .wasm import in a browser bundle: esbuild's `binary` loader makes it the file's bytes. */
declare module '*.wasm' {
  const bytes: Uint8Array;
  export default bytes;
}
