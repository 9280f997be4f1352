/** `node:buffer` for the browser bundle: the `buffer` package, made to accept plain Uint8Arrays where Node does. */
import { Buffer } from 'buffer/index.js';

const proto = Buffer.prototype as unknown as { equals(this: Uint8Array, other: Uint8Array): boolean };
proto.equals = function equals(this: Uint8Array, other: Uint8Array): boolean {
  if (!(other instanceof Uint8Array)) throw new TypeError('The "otherBuffer" argument must be a Buffer or Uint8Array');
  if (this.length !== other.length) return false;
  for (let i = 0; i < this.length; i++) if (this[i] !== other[i]) return false;
  return true;
};

export { Buffer };
export const kMaxLength = 2 ** 31 - 1;
export default { Buffer, kMaxLength };
