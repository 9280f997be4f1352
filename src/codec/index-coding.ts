/**
 * Index coding of wire format 2. A tensor's chunk-local indices (k per chunk, strictly increasing, < chunkLen) are
 * written as one bit stream: per chunk a 2-bit mode, then the chunk's indices
 *   mode 0  fixed width: k × ceil(log2 chunkLen) bits (format 1's packing);
 *   mode 1  Golomb-coded gaps (first index, then each index − previous − 1) with the tensor's parameter M: the
 *           quotient in unary (ones, then a zero), the remainder in truncated binary (LSB-first variant);
 *   mode 2  a chunkLen-bit bitmap.
 * The mode is the smallest of the three (ties: the lower mode), and M is golombParameter of the tensor's mean gap, so
 * one selection still has exactly one encoding; the decoder checks both. Top-64 of 4,096 costs about 476 bits per
 * chunk in mode 1 (entropy: log2 C(4096, 64) ≈ 471) against 768 in format 1.
 */
import type { ChunkLayout } from '../optim/sparseloco/index.ts';
import { BitReader, BitWriter } from './bitstream.ts';
import { CodecError } from './errors.ts';

export const INDEX_MODE_BITS = 2;
/** The chunk modes. */
const FIXED = 0;
const GOLOMB = 1;
const BITMAP = 2;
type IndexMode = typeof FIXED | typeof GOLOMB | typeof BITMAP;
export const MAX_GOLOMB_PARAMETER = 0xffff;

/** Bits per index in mode 0: ceil(log2 chunkLen). */
export function fixedIndexBits(chunkLen: number): number {
  return 32 - Math.clz32(chunkLen - 1);
}

/**
 * The Golomb parameter optimal for geometric gaps of mean `meanGap` (Gallager & van Voorhis):
 * M = ⌈log(2 − p) / −log(1 − p)⌉ with p = 1 / (meanGap + 1); 1 when every gap is 0.
 */
export function golombParameter(meanGap: number): number {
  if (!(meanGap > 0)) return 1;
  const p = 1 / (meanGap + 1);
  const m = Math.ceil(Math.log(2 - p) / -Math.log1p(-p) - 1e-9);
  return Math.min(MAX_GOLOMB_PARAMETER, Math.max(1, m));
}

/** The parameter format 2 uses for a tensor: golombParameter of its mean gap over all chunks. */
export function tensorGolombParameter(indices: Uint16Array, layout: ChunkLayout): number {
  const { k, numChunks } = layout;
  if (numChunks === 0 || k === 0) return 1;
  let gaps = 0;
  for (let c = 0; c < numChunks; c++) gaps += indices[c * k + k - 1] + 1 - k;
  return golombParameter(gaps / (numChunks * k));
}

interface Golomb {
  readonly m: number;
  /** ceil(log2 m). */
  readonly b: number;
  /** 2^b − m: remainders below it take b − 1 bits. */
  readonly cut: number;
  /** 2^(b−1) − cut: the long codewords' second half offset. */
  readonly half: number;
}

function golomb(m: number): Golomb {
  const b = m === 1 ? 0 : 32 - Math.clz32(m - 1);
  const cut = (1 << b) - m;
  return { m, b, cut, half: b === 0 ? 0 : (1 << (b - 1)) - cut };
}

function golombBits(gap: number, g: Golomb): number {
  const q = Math.floor(gap / g.m);
  const r = gap - q * g.m;
  return q + 1 + (g.b === 0 ? 0 : r < g.cut ? g.b - 1 : g.b);
}

function writeGolomb(w: BitWriter, gap: number, g: Golomb): void {
  const q = Math.floor(gap / g.m);
  const r = gap - q * g.m;
  w.unary(q);
  if (g.b === 0) return;
  if (r < g.cut) {
    w.bits(r, g.b - 1);
    return;
  }
  const v = r - g.cut;
  w.bits(g.cut + (v % g.half), g.b - 1);
  w.bits(Math.floor(v / g.half), 1);
}

function readGolomb(r: BitReader, g: Golomb, maxQuotient: number): number {
  const q = r.unary(maxQuotient);
  if (g.b === 0) return q;
  const x = r.bits(g.b - 1);
  const rem = x < g.cut ? x : x + r.bits(1) * g.half;
  return q * g.m + rem;
}

/** Codes of at most TABLE_BITS bits decode with one lookup of the next TABLE_BITS bits. */
const TABLE_BITS = 12;
const TABLE_MASK = (1 << TABLE_BITS) - 1;
const tables = new Map<number, Int32Array>();

/** For each TABLE_BITS-bit window: (gap << 4) | code length, or 0 when the code is longer than the window. */
function golombTable(g: Golomb): Int32Array {
  const cached = tables.get(g.m);
  if (cached !== undefined) return cached;
  const table = new Int32Array(1 << TABLE_BITS);
  for (let x = 0; x < table.length; x++) {
    let q = 0;
    while (q < TABLE_BITS && ((x >> q) & 1) === 1) q++;
    let len = q + 1;
    if (len > TABLE_BITS) continue;
    let rem = 0;
    if (g.b > 0) {
      if (len + g.b - 1 > TABLE_BITS) continue;
      const low = (x >> len) & ((1 << (g.b - 1)) - 1);
      len += g.b - 1;
      if (low < g.cut) {
        rem = low;
      } else {
        if (len + 1 > TABLE_BITS) continue;
        rem = low + ((x >> len) & 1) * g.half;
        len += 1;
      }
    }
    table[x] = ((q * g.m + rem) << 4) | len;
  }
  if (tables.size >= 64) tables.clear();
  tables.set(g.m, table);
  return table;
}

/** Longest code written from the table in one go (BitWriter.bits takes up to 24 bits). */
const MAX_TABLE_CODE = 24;

/**
 * Every gap's Golomb code: its length, and its bits when the length is at most MAX_TABLE_CODE (else -1), as
 * writeGolomb writes them.
 */
interface GolombCodes {
  readonly len: Int32Array;
  readonly bits: Int32Array;
}
const codeTables = new Map<string, GolombCodes>();

function golombCodes(g: Golomb, maxGap: number): GolombCodes {
  const key = `${g.m}/${maxGap}`;
  const cached = codeTables.get(key);
  if (cached !== undefined) return cached;
  const len = new Int32Array(maxGap + 1);
  const bits = new Int32Array(maxGap + 1);
  const scratch = new Uint8Array(4);
  for (let gap = 0; gap <= maxGap; gap++) {
    const n = golombBits(gap, g);
    len[gap] = n;
    if (n > MAX_TABLE_CODE) {
      bits[gap] = -1;
      continue;
    }
    scratch.fill(0);
    const w = new BitWriter(scratch, 0);
    writeGolomb(w, gap, g);
    w.finish();
    bits[gap] = scratch[0] | (scratch[1] << 8) | (scratch[2] << 16);
  }
  if (codeTables.size >= 64) codeTables.clear();
  const codes = { len, bits };
  codeTables.set(key, codes);
  return codes;
}

/** Bits of one chunk in each mode. */
function chunkCosts(indices: Uint16Array, at: number, k: number, chunkLen: number, codes: GolombCodes): [number, number, number] {
  const len = codes.len;
  let golombTotal = 0;
  let prev = -1;
  for (let p = at; p < at + k; p++) {
    const gap = indices[p] - prev - 1;
    golombTotal += len[gap];
    prev = indices[p];
  }
  return [k * fixedIndexBits(chunkLen), golombTotal, chunkLen];
}

function cheapest(costs: readonly [number, number, number]): IndexMode {
  let best: IndexMode = FIXED;
  if (costs[1] < costs[best]) best = GOLOMB;
  if (costs[2] < costs[best]) best = BITMAP;
  return best;
}

/** Upper bound of a tensor's index stream in bytes (every chunk in mode 0, plus the modes). */
export function maxIndexStreamBytes(layout: ChunkLayout): number {
  return Math.ceil((layout.numChunks * (INDEX_MODE_BITS + layout.k * fixedIndexBits(layout.chunkLen))) / 8);
}

/** Writes the tensor's index stream at `offset` of `out`, zero-padded to a byte; returns the offset after it. */
export function writeIndexStream(indices: Uint16Array, layout: ChunkLayout, m: number, out: Uint8Array, offset: number): number {
  const { k, numChunks, chunkLen } = layout;
  const g = golomb(m);
  const codes = golombCodes(g, chunkLen - k);
  const fixedBits = fixedIndexBits(chunkLen);
  const w = new BitWriter(out, offset);
  for (let c = 0; c < numChunks; c++) {
    const at = c * k;
    const mode = cheapest(chunkCosts(indices, at, k, chunkLen, codes));
    w.bits(mode, INDEX_MODE_BITS);
    if (mode === FIXED) {
      for (let p = at; p < at + k; p++) w.bits(indices[p], fixedBits);
    } else if (mode === GOLOMB) {
      let prev = -1;
      for (let p = at; p < at + k; p++) {
        const gap = indices[p] - prev - 1;
        const code = codes.bits[gap];
        if (code >= 0) w.bits(code, codes.len[gap]);
        else writeGolomb(w, gap, g);
        prev = indices[p];
      }
    } else {
      for (let i = 0, p = at; i < chunkLen; i += 16) {
        let word = 0;
        const n = Math.min(16, chunkLen - i);
        while (p < at + k && indices[p] < i + n) word |= 1 << (indices[p++] - i);
        w.bits(word, n);
      }
    }
  }
  return w.finish();
}

/** Decodes chunk c's k Golomb-coded gaps into indices[at, at + k), checking each index. */
function readGolombChunk(
  r: BitReader, src: Uint8Array, end: number, table: Int32Array, g: Golomb, maxQuotient: number,
  indices: Uint16Array, at: number, k: number, chunkLen: number, where: string, c: number,
): void {
  const maxGap = chunkLen - k;
  let prev = -1;
  let acc = r.acc;
  let accBits = r.accBits;
  let pos = r.pos;
  for (let p = at; p < at + k; p++) {
    // at most 31 bits, so acc stays a non-negative int32 here
    while (accBits <= 23 && pos < end) {
      acc |= src[pos++] << accBits;
      accBits += 8;
    }
    const e = table[acc & TABLE_MASK];
    const len = e & 15;
    let gap: number;
    if (e !== 0 && len <= accBits) {
      acc >>>= len;
      accBits -= len;
      gap = e >>> 4;
    } else {
      r.acc = acc;
      r.accBits = accBits;
      r.pos = pos;
      gap = readGolomb(r, g, maxQuotient);
      acc = r.acc;
      accBits = r.accBits;
      pos = r.pos;
    }
    if (gap > maxGap) throw new CodecError('BadIndexCoding', `${where} chunk ${c}: gap ${gap} > ${maxGap}`);
    const idx = prev + 1 + gap;
    if (idx >= chunkLen) throw new CodecError('IndexOutOfRange', `${where} chunk ${c}: index ${idx} ≥ ${chunkLen}`);
    indices[p] = prev = idx;
  }
  r.acc = acc;
  r.accBits = accBits;
  r.pos = pos;
}

/**
 * Reads a tensor's index stream from `offset` (no byte at or after `end`), checking every index, the modes and
 * padding; returns the indices and the offset after the stream.
 */
export function readIndexStream(src: Uint8Array, offset: number, end: number, layout: ChunkLayout, m: number, where: string): { indices: Uint16Array; end: number } {
  const { k, numChunks, chunkLen } = layout;
  if (!Number.isInteger(m) || m < 1 || m > MAX_GOLOMB_PARAMETER) throw new CodecError('BadIndexCoding', `${where}: Golomb parameter ${m}`);
  const g = golomb(m);
  const fixedBits = fixedIndexBits(chunkLen);
  const maxQuotient = Math.floor((chunkLen - k) / m);
  const table = golombTable(g);
  const codes = golombCodes(g, chunkLen - k);
  const r = new BitReader(src, offset, end, `${where} indices`);
  const indices = new Uint16Array(numChunks * k);
  for (let c = 0; c < numChunks; c++) {
    const at = c * k;
    const mode = r.bits(INDEX_MODE_BITS);
    if (mode === FIXED) {
      let prev = -1;
      for (let p = at; p < at + k; p++) {
        const idx = r.bits(fixedBits);
        if (idx >= chunkLen) throw new CodecError('IndexOutOfRange', `${where} chunk ${c}: index ${idx} ≥ ${chunkLen}`);
        if (idx <= prev) throw new CodecError(idx === prev ? 'DuplicateIndex' : 'IndexOrder', `${where} chunk ${c}: index ${idx} after ${prev}`);
        indices[p] = prev = idx;
      }
    } else if (mode === GOLOMB) {
      const from = r.bitsRead;
      readGolombChunk(r, src, end, table, g, maxQuotient, indices, at, k, chunkLen, where, c);
      const bits = r.bitsRead - from;
      if (!(bits < k * fixedBits && bits <= chunkLen)) throw new CodecError('BadIndexCoding', `${where} chunk ${c}: mode ${mode} is not the smallest`);
      continue;
    } else if (mode === BITMAP) {
      let p = at;
      for (let i = 0; i < chunkLen; i += 16) {
        const n = Math.min(16, chunkLen - i);
        let word = r.bits(n);
        while (word !== 0) {
          const bit = 31 - Math.clz32(word & -word);
          if (p === at + k) throw new CodecError('BadIndexCoding', `${where} chunk ${c}: bitmap has more than ${k} bits set`);
          indices[p++] = i + bit;
          word &= word - 1;
        }
      }
      if (p !== at + k) throw new CodecError('BadIndexCoding', `${where} chunk ${c}: bitmap has ${p - at} bits set, expected ${k}`);
    } else {
      throw new CodecError('BadIndexCoding', `${where} chunk ${c}: unknown index mode ${mode}`);
    }
    if (cheapest(chunkCosts(indices, at, k, chunkLen, codes)) !== mode) throw new CodecError('BadIndexCoding', `${where} chunk ${c}: mode ${mode} is not the smallest`);
  }
  if (!r.finishPadded()) throw new CodecError('BadPadding', `${where}: non-zero padding after the index stream`);
  if (tensorGolombParameter(indices, layout) !== m) throw new CodecError('BadIndexCoding', `${where}: Golomb parameter ${m} is not the canonical ${tensorGolombParameter(indices, layout)}`);
  return { indices, end: r.pos };
}
