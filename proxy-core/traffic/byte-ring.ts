/**
 * A circular byte arena outside the JS heap: the request log keeps its text and captured bodies
 * here, so a full log costs the garbage collector nothing however fast it turns over.
 *
 * Writes get an absolute position (bytes written before them, counting every lap), which stays
 * a valid address until the arena has moved a whole size past it. The arena starts small and
 * doubles, up to `maxBytes`, instead of overwriting bytes the caller still needs; at its largest
 * it overwrites the oldest bytes, and `holds` says which positions are gone.
 */
export class ByteRing {
  #buffer: Buffer;
  readonly #maxBytes: number;
  /** Absolute position of the next write. */
  #head = 0;
  /** Bytes before this position were dropped when the arena grew. */
  #keptFrom = 0;

  constructor(initialBytes: number, maxBytes: number) {
    // Every size is the first one doubled, so a write that was contiguous stays contiguous.
    let max = initialBytes;
    while (max < maxBytes) max *= 2;
    this.#maxBytes = max;
    this.#buffer = Buffer.allocUnsafeSlow(initialBytes);
  }

  get size(): number {
    return this.#buffer.length;
  }

  /** The position the next write starts at, or after. */
  get head(): number {
    return this.#head;
  }

  /** Whether bytes written at `position` are still there. */
  holds(position: number): boolean {
    return position >= this.#keptFrom && position >= this.#head - this.#buffer.length;
  }

  /**
   * Writes `text` as UTF-8 and returns its position and byte length. Bytes from `keepFrom` on
   * are kept by growing the arena while it may still grow.
   */
  writeText(text: string, keepFrom: number): { position: number; bytes: number } {
    // Worst case three bytes per UTF-16 unit: a write never straddles the end of the buffer.
    const position = this.#reserve(text.length * 3, keepFrom);
    const at = position % this.#buffer.length;
    const bytes = this.#buffer.write(text, at, 'utf8');
    this.#head = position + bytes;
    return { position, bytes };
  }

  writeBytes(bytes: Uint8Array, keepFrom: number): number {
    const position = this.#reserve(bytes.length, keepFrom);
    this.#buffer.set(bytes, position % this.#buffer.length);
    this.#head = position + bytes.length;
    return position;
  }

  text(position: number, bytes: number): string {
    const at = position % this.#buffer.length;
    return this.#buffer.toString('utf8', at, at + bytes);
  }

  /** A copy: the arena may overwrite these bytes later. */
  bytes(position: number, length: number): Buffer {
    const at = position % this.#buffer.length;
    return Buffer.from(this.#buffer.subarray(at, at + length));
  }

  /** Where `length` contiguous bytes go, after growing the arena if `keepFrom` requires it. */
  #reserve(length: number, keepFrom: number): number {
    for (;;) {
      const size = this.#buffer.length;
      const offset = this.#head % size;
      // Too close to the end for this write: the rest of this lap stays unused.
      const start = offset + length <= size ? this.#head : this.#head + (size - offset);
      const fits = length <= size;
      const keepsWhatIsNeeded = start + length - size <= keepFrom;
      if (fits && (keepsWhatIsNeeded || size >= this.#maxBytes)) return start;
      this.#grow(keepFrom, length);
    }
  }

  /** Doubles the arena (more for one large write), keeping the bytes from `keepFrom` on. */
  #grow(keepFrom: number, atLeast: number): void {
    const old = this.#buffer;
    let size = old.length * 2;
    while (size < atLeast * 2) size *= 2;
    // Only one write larger than the maximum takes the arena beyond it.
    if (size > this.#maxBytes && atLeast <= this.#maxBytes) size = this.#maxBytes;
    const next = Buffer.allocUnsafeSlow(size);

    // Each kept byte moves from `position % old size` to `position % new size`.
    const oldest = Math.max(keepFrom, this.#keptFrom, this.#head - old.length, 0);
    let position = Math.min(oldest, this.#head);
    this.#keptFrom = position;
    while (position < this.#head) {
      const from = position % old.length;
      const to = position % next.length;
      const run = Math.min(this.#head - position, old.length - from, next.length - to);
      old.copy(next, to, from, from + run);
      position += run;
    }
    this.#buffer = next;
  }
}
