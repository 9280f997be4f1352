/**
 * Address-ordered free-list allocator for a growable linear memory: best fit, blocks split when the rest
 * is worth keeping, neighbours coalesced on free, and a free block at the top returns to the bump pointer.
 * So memory stays bounded when tensor shapes change between calls.
 */
const SPLIT_MIN = 4096;

export class Heap {
  private readonly ptrs: number[] = [];
  private readonly sizes: number[] = [];

  constructor(
    private top: number,
    /** makes [0, end) usable or throws; called before the bump pointer passes the current end */
    private readonly ensure: (end: number) => void,
  ) {}

  /** Bytes below the bump pointer (used or free-listed). */
  get extent(): number {
    return this.top;
  }

  /** `size` must be a multiple of the alignment; returns [pointer, block size]. */
  alloc(size: number): [number, number] {
    let best = -1;
    for (let i = 0; i < this.sizes.length; i++) {
      const s = this.sizes[i];
      if (s >= size && (best < 0 || s < this.sizes[best])) {
        best = i;
        if (s === size) break;
      }
    }
    if (best >= 0) {
      const ptr = this.ptrs[best];
      const s = this.sizes[best];
      if (s - size >= SPLIT_MIN) {
        this.ptrs[best] = ptr + size;
        this.sizes[best] = s - size;
        return [ptr, size];
      }
      this.ptrs.splice(best, 1);
      this.sizes.splice(best, 1);
      return [ptr, s];
    }
    // extend from a free block touching the top, else bump
    const last = this.ptrs.length - 1;
    if (last >= 0 && this.ptrs[last] + this.sizes[last] === this.top) {
      const ptr = this.ptrs[last];
      this.ensure(ptr + size);
      this.ptrs.pop();
      this.sizes.pop();
      this.top = ptr + size;
      return [ptr, size];
    }
    const ptr = this.top;
    this.ensure(ptr + size);
    this.top = ptr + size;
    return [ptr, size];
  }

  free(ptr: number, size: number): void {
    let lo = 0, hi = this.ptrs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ptrs[mid] < ptr) lo = mid + 1;
      else hi = mid;
    }
    let p = ptr, s = size, at = lo;
    if (at > 0 && this.ptrs[at - 1] + this.sizes[at - 1] === p) {
      at--;
      p = this.ptrs[at];
      s += this.sizes[at];
      this.ptrs.splice(at, 1);
      this.sizes.splice(at, 1);
    }
    if (at < this.ptrs.length && p + s === this.ptrs[at]) {
      s += this.sizes[at];
      this.ptrs.splice(at, 1);
      this.sizes.splice(at, 1);
    }
    if (p + s === this.top) {
      this.top = p;
      return;
    }
    this.ptrs.splice(at, 0, p);
    this.sizes.splice(at, 0, s);
  }

  /** Number of free blocks (for tests). */
  get freeBlocks(): number {
    return this.ptrs.length;
  }
}
