/** The leader's `start_window_v{ver}.json` = { "start_window": int }: the first window of the run. */
import { DocReader, encodeDoc, readObject, type JsonInput, type ParseDocOptions } from './json-doc.ts';

export function encodeStartWindow(startWindow: number): Uint8Array {
  new DocReader({ start_window: startWindow }, 'InvalidStartWindow', 'start window').int('start_window');
  return encodeDoc({ start_window: startWindow });
}

export function parseStartWindow(input: JsonInput, options?: ParseDocOptions): number {
  const r = new DocReader(readObject(input, 'InvalidStartWindow', 'start window', { maxBytes: 4096, ...options }), 'InvalidStartWindow', 'start window');
  return r.exactKeys(['start_window']).int('start_window');
}
