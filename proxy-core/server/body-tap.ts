import type { Readable } from 'node:stream';
import type { CapturedBody } from './exchange.ts';

const TAP = Symbol('tollgate.bodyTap');
interface Tapped {
  [TAP]?: BodyTap;
}

/**
 * Counts the bytes of a body and keeps its first `limit` bytes, by listening beside the pipe
 * rather than inside it: no extra stream in the path, so backpressure and speed are the pipe's.
 */
export class BodyTap {
  /** One listener for every tap, finding its tap on the stream: no closure per body. */
  static onData(this: Readable & Tapped, chunk: Buffer): void {
    this[TAP]!.#take(chunk);
  }

  bytes = 0;
  readonly #limit: number;
  /** Made on the first kept chunk: most taps only count. */
  #chunks: Buffer[] | undefined;
  #kept = 0;
  #truncated = false;

  constructor(stream: Readable, limit: number) {
    this.#limit = limit;
    (stream as Readable & Tapped)[TAP] = this;
    stream.on('data', BodyTap.onData);
  }

  /** Undefined when nothing was asked to be kept or the body was empty. */
  captured(): CapturedBody | undefined {
    if (this.#limit === 0 || this.bytes === 0) return undefined;
    const chunks = this.#chunks ?? [];
    // A body of one chunk (most small ones) is already a private copy: no second copy needed.
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#kept);
    return { bytes, truncated: this.#truncated };
  }

  #take(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.#kept >= this.#limit) {
      if (this.#limit > 0) this.#truncated = true;
      return;
    }

    const room = this.#limit - this.#kept;
    const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
    if (kept.length < chunk.length) this.#truncated = true;
    // A copy: the source may reuse its buffer once the chunk is written on.
    (this.#chunks ??= []).push(Buffer.from(kept));
    this.#kept += kept.length;
  }
}
