/** A chunk's place in an index: its id in the store, its file, and how near it is to a query. */
export interface Hit {
  chunkId: number;
  fileId: string;
  score: number;
}

/**
 * One vector store's chunk embeddings in memory, one flat Float32Array row after row, searched by
 * brute force: every row's dot product with the query (the vectors are unit length, so that is the
 * cosine similarity), keeping the best k. A scan of 100,000 rows of 768 floats is 77 M
 * multiply-adds, tens of milliseconds, and exact: no approximate structure to build or tune.
 */
export class VectorIndex {
  private vectors = new Float32Array(0);
  private chunkIds = new Float64Array(0);
  private fileSlots = new Int32Array(0);
  private count = 0;
  /** the vectors' length, fixed by the first one added */
  private dims = 0;
  private readonly slots = new Map<string, number>();
  private readonly slotFiles: string[] = [];

  get size(): number {
    return this.count;
  }

  get dimensions(): number {
    return this.dims;
  }

  add(chunks: Iterable<{ id: number; fileId: string; vector: Float32Array }>): void {
    for (const chunk of chunks) {
      if (this.dims === 0) this.dims = chunk.vector.length;
      if (chunk.vector.length !== this.dims) throw new Error(`a ${chunk.vector.length}-dimensional vector in an index of ${this.dims} dimensions`);
      this.reserve(this.count + 1);
      this.vectors.set(chunk.vector, this.count * this.dims);
      this.chunkIds[this.count] = chunk.id;
      this.fileSlots[this.count] = this.slotOf(chunk.fileId);
      this.count++;
    }
  }

  /** Drops a file's rows, keeping the others in order. */
  removeFile(fileId: string): void {
    const slot = this.slots.get(fileId);
    if (slot === undefined) return;
    const d = this.dims;
    let kept = 0;
    for (let row = 0; row < this.count; row++) {
      if (this.fileSlots[row] === slot) continue;
      if (kept !== row) {
        this.vectors.copyWithin(kept * d, row * d, (row + 1) * d);
        this.chunkIds[kept] = this.chunkIds[row]!;
        this.fileSlots[kept] = this.fileSlots[row]!;
      }
      kept++;
    }
    this.count = kept;
  }

  /**
   * The `k` rows nearest the query, best first, among the files `allowed` lets through (all when
   * undefined) and scoring at least `minScore`.
   */
  search(query: Float32Array, k: number, allowed?: (fileId: string) => boolean, minScore = -Infinity): Hit[] {
    const d = this.dims;
    if (this.count === 0 || k <= 0) return [];
    if (query.length !== d) throw new Error(`a ${query.length}-dimensional query for an index of ${d} dimensions`);
    const allow = allowed && Uint8Array.from(this.slotFiles, (file) => (allowed(file) ? 1 : 0));
    const topScores = new Float64Array(k).fill(-Infinity);
    const topRows = new Int32Array(k).fill(-1);
    const v = this.vectors;
    const slots = this.fileSlots;
    const tail = d - (d % 4);
    for (let row = 0, at = 0; row < this.count; row++, at += d) {
      if (allow && allow[slots[row]!] === 0) continue;
      // Four running sums: independent additions the CPU can overlap.
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let j = 0;
      for (; j < tail; j += 4) {
        s0 += v[at + j]! * query[j]!;
        s1 += v[at + j + 1]! * query[j + 1]!;
        s2 += v[at + j + 2]! * query[j + 2]!;
        s3 += v[at + j + 3]! * query[j + 3]!;
      }
      for (; j < d; j++) s0 += v[at + j]! * query[j]!;
      const score = s0 + s1 + s2 + s3;
      if (score < minScore || score <= topScores[k - 1]!) continue;
      let i = k - 1;
      while (i > 0 && topScores[i - 1]! < score) {
        topScores[i] = topScores[i - 1]!;
        topRows[i] = topRows[i - 1]!;
        i--;
      }
      topScores[i] = score;
      topRows[i] = row;
    }
    const hits: Hit[] = [];
    for (let i = 0; i < k && topRows[i] !== -1; i++) {
      const row = topRows[i]!;
      hits.push({ chunkId: this.chunkIds[row]!, fileId: this.slotFiles[slots[row]!]!, score: topScores[i]! });
    }
    return hits;
  }

  private slotOf(fileId: string): number {
    let slot = this.slots.get(fileId);
    if (slot === undefined) {
      slot = this.slotFiles.length;
      this.slots.set(fileId, slot);
      this.slotFiles.push(fileId);
    }
    return slot;
  }

  /**
   * Room for `rows` rows: grown by half again when exceeded, so that adding row by row costs
   * amortized constant time. Reserving a known count at once spares the copies, and memory that
   * is new costs as much to touch the first time as to copy into.
   */
  reserve(rows: number): void {
    if (rows > this.chunkIds.length) {
      const capacity = Math.max(rows, Math.ceil(this.chunkIds.length * 1.5), 256);
      const chunkIds = new Float64Array(capacity);
      chunkIds.set(this.chunkIds.subarray(0, this.count));
      const fileSlots = new Int32Array(capacity);
      fileSlots.set(this.fileSlots.subarray(0, this.count));
      this.chunkIds = chunkIds;
      this.fileSlots = fileSlots;
    }
    // The vectors' room follows once their length is known (the first vector added tells it).
    const floats = this.chunkIds.length * this.dims;
    if (this.vectors.length < floats) {
      const vectors = new Float32Array(floats);
      vectors.set(this.vectors.subarray(0, this.count * this.dims));
      this.vectors = vectors;
    }
  }
}
