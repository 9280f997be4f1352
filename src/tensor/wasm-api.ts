/**
 * The slice of the WebAssembly JS API the wasm backend uses, typed locally (the project's TS lib set has no
 * WebAssembly declarations, and a global declaration could clash with one added later).
 */
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
  grow(deltaPages: number): number;
}
export interface WasmModule {
  readonly __wasmModule?: never;
}
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: true }) => WasmMemory;
  Module: {
    new (bytes: Uint8Array): WasmModule;
    exports(m: WasmModule): Array<{ name: string; kind: string }>;
  };
  Instance: new (m: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
}

export const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
