/**
 * Strict reading of the small JSON documents peers publish (peer lists, start window, checkpoint pointers,
 * aggregator manifests), on the shared strict reader (src/core/json.ts) with ProtocolError codes.
 */
import { encodeJson, JsonFields, parseJsonObject, type JsonErrorFactory, type JsonInput, type ReadJsonOptions } from '../core/json.ts';
import { ProtocolError, type ProtocolErrorCode } from './errors.ts';

export { DEFAULT_MAX_JSON_BYTES as DEFAULT_MAX_DOC_BYTES } from '../core/json.ts';
export type { JsonInput } from '../core/json.ts';
export type ParseDocOptions = ReadJsonOptions;

export const encodeDoc = encodeJson;

function protocolFailure(code: ProtocolErrorCode): JsonErrorFactory {
  return (kind, message, cause) => new ProtocolError(kind === 'TooLarge' ? 'TooLarge' : code, message, { cause });
}

/** Decodes and JSON-parses; the result is a plain object or a ProtocolError of `code` (TooLarge when over the cap). */
export function readObject(input: JsonInput, code: ProtocolErrorCode, what: string, options?: ParseDocOptions): Record<string, unknown> {
  return parseJsonObject(input, what, protocolFailure(code), options);
}

/** Field readers bound to one document: each throws `code` naming the document and the field. */
export class DocReader extends JsonFields {
  constructor(obj: Record<string, unknown>, code: ProtocolErrorCode, what: string) {
    super(obj, what, protocolFailure(code));
  }
}
