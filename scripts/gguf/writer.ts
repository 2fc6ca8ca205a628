/**
 * Minimal GGUF v3 writer (and header reader) for generating test models.
 *
 * Layout (all little-endian):
 *   magic "GGUF" | u32 version=3 | u64 tensor_count | u64 kv_count
 *   kv_count × (string key, u32 value_type, value)
 *   tensor_count × (string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset)
 *   padding to `general.alignment`
 *   tensor data, each tensor starting at a multiple of the alignment (offsets are relative to the data section)
 *
 * Tensor shapes use ggml's order: `shape[0]` is the innermost (contiguous) dimension,
 * so a matrix with `rows` outputs of `cols` inputs each is `[cols, rows]`.
 */
import { closeSync, openSync, readSync, writeSync, fstatSync } from "node:fs";

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const DEFAULT_ALIGNMENT = 32;

export enum GgufValueType {
    UINT8 = 0,
    INT8 = 1,
    UINT16 = 2,
    INT16 = 3,
    UINT32 = 4,
    INT32 = 5,
    FLOAT32 = 6,
    BOOL = 7,
    STRING = 8,
    ARRAY = 9,
    UINT64 = 10,
    INT64 = 11,
    FLOAT64 = 12,
}

export enum GgmlType {
    F32 = 0,
    F16 = 1,
    Q8_0 = 8,
}

/** llama.cpp's `llama_ftype` values for `general.file_type`. */
export enum LlamaFileType {
    ALL_F32 = 0,
    MOSTLY_F16 = 1,
    MOSTLY_Q8_0 = 7,
}

export const QK8_0 = 32;
const Q8_0_BLOCK_BYTES = 2 + QK8_0;

type ScalarType = Exclude<GgufValueType, GgufValueType.ARRAY>;

export type GgufValue =
    | { type: ScalarType; value: number | bigint | boolean | string }
    | { type: GgufValueType.ARRAY; itemType: ScalarType; value: ArrayLike<number | bigint | boolean | string> };

/** Typed metadata value constructors. */
export const kv = {
    u8: (v: number): GgufValue => ({ type: GgufValueType.UINT8, value: v }),
    i8: (v: number): GgufValue => ({ type: GgufValueType.INT8, value: v }),
    u16: (v: number): GgufValue => ({ type: GgufValueType.UINT16, value: v }),
    i16: (v: number): GgufValue => ({ type: GgufValueType.INT16, value: v }),
    u32: (v: number): GgufValue => ({ type: GgufValueType.UINT32, value: v }),
    i32: (v: number): GgufValue => ({ type: GgufValueType.INT32, value: v }),
    u64: (v: number | bigint): GgufValue => ({ type: GgufValueType.UINT64, value: v }),
    i64: (v: number | bigint): GgufValue => ({ type: GgufValueType.INT64, value: v }),
    f32: (v: number): GgufValue => ({ type: GgufValueType.FLOAT32, value: v }),
    f64: (v: number): GgufValue => ({ type: GgufValueType.FLOAT64, value: v }),
    bool: (v: boolean): GgufValue => ({ type: GgufValueType.BOOL, value: v }),
    str: (v: string): GgufValue => ({ type: GgufValueType.STRING, value: v }),
    arr: (itemType: ScalarType, v: ArrayLike<number | bigint | boolean | string>): GgufValue =>
        ({ type: GgufValueType.ARRAY, itemType, value: v }),
    strs: (v: readonly string[]): GgufValue => kv.arr(GgufValueType.STRING, v),
    i32s: (v: ArrayLike<number>): GgufValue => kv.arr(GgufValueType.INT32, v),
    u32s: (v: ArrayLike<number>): GgufValue => kv.arr(GgufValueType.UINT32, v),
    f32s: (v: ArrayLike<number>): GgufValue => kv.arr(GgufValueType.FLOAT32, v),
};

// ---------------------------------------------------------------------------
// half precision

const f32Buf = new Float32Array(1);
const u32Buf = new Uint32Array(f32Buf.buffer);

/** float32 -> IEEE binary16 bits, round to nearest even. */
export function f32ToF16(val: number): number {
    f32Buf[0] = val;
    const x = u32Buf[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
    const e = exp - 127 + 15;
    if (e >= 0x1f) return sign | 0x7c00;
    if (e <= 0) {
        if (e < -10) return sign;
        mant |= 0x800000;
        const shift = 14 - e;
        let h = mant >>> shift;
        const rem = mant & ((1 << shift) - 1);
        const halfway = 1 << (shift - 1);
        if (rem > halfway || (rem === halfway && (h & 1) !== 0)) h++;
        return sign | h;
    }
    let h = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++;
    return sign | h;
}

/** IEEE binary16 bits -> number. */
export function f16ToF32(h: number): number {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) return sign * mant * 2 ** -24;
    if (exp === 0x1f) return mant !== 0 ? NaN : sign * Infinity;
    return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

// ---------------------------------------------------------------------------
// Q8_0

/** Quantize `src` (length multiple of 32) to Q8_0 blocks: f16 scale + 32 × int8. Same math as ggml's reference. */
export function quantizeQ8_0(src: ArrayLike<number>, out?: Uint8Array, outOffset = 0): Uint8Array {
    if (src.length % QK8_0 !== 0) throw new Error(`Q8_0 needs a multiple of ${QK8_0} values, got ${src.length}`);
    const nb = src.length / QK8_0;
    const dst = out ?? new Uint8Array(nb * Q8_0_BLOCK_BYTES);
    let o = outOffset;
    for (let b = 0; b < nb; b++) {
        const base = b * QK8_0;
        let amax = 0;
        for (let j = 0; j < QK8_0; j++) {
            const a = Math.abs(src[base + j]!);
            if (a > amax) amax = a;
        }
        const d = Math.fround(amax / 127);
        const id = d !== 0 ? Math.fround(1 / d) : 0;
        const hd = f32ToF16(d);
        dst[o] = hd & 0xff;
        dst[o + 1] = hd >>> 8;
        o += 2;
        for (let j = 0; j < QK8_0; j++) {
            const q = roundHalfAway(Math.fround(src[base + j]! * id));
            dst[o++] = q & 0xff;
        }
    }
    return dst;
}

function roundHalfAway(x: number): number {
    return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** Inverse of {@link quantizeQ8_0}. */
export function dequantizeQ8_0(src: Uint8Array, count: number): Float32Array {
    const res = new Float32Array(count);
    const nb = count / QK8_0;
    let o = 0;
    for (let b = 0; b < nb; b++) {
        const d = f16ToF32(src[o]! | (src[o + 1]! << 8));
        o += 2;
        for (let j = 0; j < QK8_0; j++) {
            const q = src[o++]!;
            res[b * QK8_0 + j] = d * (q > 127 ? q - 256 : q);
        }
    }
    return res;
}

export function ggmlTypeSize(type: GgmlType, elements: number): number {
    switch (type) {
        case GgmlType.F32:
            return elements * 4;
        case GgmlType.F16:
            return elements * 2;
        case GgmlType.Q8_0:
            if (elements % QK8_0 !== 0) throw new Error(`Q8_0 tensor needs a multiple of ${QK8_0} elements`);
            return (elements / QK8_0) * Q8_0_BLOCK_BYTES;
    }
}

// ---------------------------------------------------------------------------
// output sink

/** Buffered little-endian byte sink writing to a file descriptor. */
export class ByteSink {
    private buf: Uint8Array;
    private view: DataView;
    private pos = 0;
    /** Total bytes written so far (flushed + buffered). */
    written = 0;
    private readonly textEncoder = new TextEncoder();

    constructor(private readonly fd: number, bufferSize = 8 << 20) {
        this.buf = new Uint8Array(bufferSize);
        this.view = new DataView(this.buf.buffer);
    }

    private ensure(n: number) {
        if (this.pos + n > this.buf.length) this.flush();
        if (n > this.buf.length) {
            this.buf = new Uint8Array(n);
            this.view = new DataView(this.buf.buffer);
        }
    }

    flush() {
        let off = 0;
        while (off < this.pos) off += writeSync(this.fd, this.buf, off, this.pos - off);
        this.pos = 0;
    }

    u8(v: number) { this.ensure(1); this.view.setUint8(this.pos, v); this.pos += 1; this.written += 1; }
    i8(v: number) { this.ensure(1); this.view.setInt8(this.pos, v); this.pos += 1; this.written += 1; }
    u16(v: number) { this.ensure(2); this.view.setUint16(this.pos, v, true); this.pos += 2; this.written += 2; }
    i16(v: number) { this.ensure(2); this.view.setInt16(this.pos, v, true); this.pos += 2; this.written += 2; }
    u32(v: number) { this.ensure(4); this.view.setUint32(this.pos, v, true); this.pos += 4; this.written += 4; }
    i32(v: number) { this.ensure(4); this.view.setInt32(this.pos, v, true); this.pos += 4; this.written += 4; }
    u64(v: number | bigint) { this.ensure(8); this.view.setBigUint64(this.pos, BigInt(v), true); this.pos += 8; this.written += 8; }
    i64(v: number | bigint) { this.ensure(8); this.view.setBigInt64(this.pos, BigInt(v), true); this.pos += 8; this.written += 8; }
    f32(v: number) { this.ensure(4); this.view.setFloat32(this.pos, v, true); this.pos += 4; this.written += 4; }
    f64(v: number) { this.ensure(8); this.view.setFloat64(this.pos, v, true); this.pos += 8; this.written += 8; }

    bytes(b: Uint8Array) {
        if (b.length > this.buf.length / 2) {
            this.flush();
            let off = 0;
            while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
        } else {
            this.ensure(b.length);
            this.buf.set(b, this.pos);
            this.pos += b.length;
        }
        this.written += b.length;
    }

    /** GGUF string: u64 byte length + UTF-8 bytes (no terminator). */
    string(s: string) {
        const b = this.textEncoder.encode(s);
        this.u64(b.length);
        this.bytes(b);
    }

    zeros(n: number) {
        for (let i = 0; i < n; i++) this.u8(0);
    }
}

// ---------------------------------------------------------------------------
// tensors

export interface TensorSpec {
    name: string;
    /** ggml order: shape[0] is the contiguous dimension. */
    shape: number[];
    type: GgmlType;
    /** Must write exactly `ggmlTypeSize(type, product(shape))` bytes. */
    write(sink: ByteSink): void;
}

export function elementCount(shape: readonly number[]): number {
    return shape.reduce((a, b) => a * b, 1);
}

/** Encode one row of floats into the given tensor type and write it. */
export function writeRow(sink: ByteSink, type: GgmlType, row: Float32Array, scratch?: Uint8Array) {
    switch (type) {
        case GgmlType.F32:
            for (let i = 0; i < row.length; i++) sink.f32(row[i]!);
            return;
        case GgmlType.F16:
            for (let i = 0; i < row.length; i++) sink.u16(f32ToF16(row[i]!));
            return;
        case GgmlType.Q8_0: {
            const size = ggmlTypeSize(type, row.length);
            const buf = scratch != null && scratch.length >= size ? scratch.subarray(0, size) : new Uint8Array(size);
            quantizeQ8_0(row, buf);
            sink.bytes(buf);
            return;
        }
    }
}

/**
 * Tensor whose rows (of `shape[0]` floats) are produced on demand by `fillRow(rowIndex, out)`.
 * `out` is zeroed before each call.
 */
export function rowTensor(
    name: string,
    shape: number[],
    type: GgmlType,
    fillRow: (row: number, out: Float32Array) => void,
): TensorSpec {
    return {
        name,
        shape,
        type,
        write(sink) {
            const cols = shape[0]!;
            const rows = elementCount(shape) / cols;
            const row = new Float32Array(cols);
            const scratch = type === GgmlType.Q8_0 ? new Uint8Array(ggmlTypeSize(type, cols)) : undefined;
            for (let r = 0; r < rows; r++) {
                row.fill(0);
                fillRow(r, row);
                writeRow(sink, type, row, scratch);
            }
        },
    };
}

/** Tensor from a dense float array in ggml order (row-major with rows of `shape[0]`). */
export function denseTensor(name: string, shape: number[], type: GgmlType, data: Float32Array): TensorSpec {
    if (data.length !== elementCount(shape)) throw new Error(`${name}: expected ${elementCount(shape)} values, got ${data.length}`);
    const cols = shape[0]!;
    return rowTensor(name, shape, type, (r, out) => out.set(data.subarray(r * cols, (r + 1) * cols)));
}

// ---------------------------------------------------------------------------
// file writer

export interface GgufFile {
    metadata: Array<[string, GgufValue]>;
    tensors: TensorSpec[];
    alignment?: number;
}

function writeValue(sink: ByteSink, type: ScalarType, value: number | bigint | boolean | string) {
    switch (type) {
        case GgufValueType.UINT8: return sink.u8(Number(value));
        case GgufValueType.INT8: return sink.i8(Number(value));
        case GgufValueType.UINT16: return sink.u16(Number(value));
        case GgufValueType.INT16: return sink.i16(Number(value));
        case GgufValueType.UINT32: return sink.u32(Number(value));
        case GgufValueType.INT32: return sink.i32(Number(value));
        case GgufValueType.FLOAT32: return sink.f32(Number(value));
        case GgufValueType.BOOL: return sink.u8(value ? 1 : 0);
        case GgufValueType.STRING: return sink.string(String(value));
        case GgufValueType.UINT64: return sink.u64(typeof value === "bigint" ? value : BigInt(Number(value)));
        case GgufValueType.INT64: return sink.i64(typeof value === "bigint" ? value : BigInt(Number(value)));
        case GgufValueType.FLOAT64: return sink.f64(Number(value));
    }
}

/**
 * Write a GGUF v3 file to `path` synchronously, streaming tensor data through a buffer.
 * Returns the number of bytes written.
 */
export function writeGguf(path: string, file: GgufFile): number {
    const alignment = file.alignment ?? DEFAULT_ALIGNMENT;
    const metadata = [...file.metadata];
    const alignIdx = metadata.findIndex(([k]) => k === "general.alignment");
    if (alignIdx < 0) metadata.push(["general.alignment", kv.u32(alignment)]);
    else if (Number(metadata[alignIdx]![1].value) !== alignment) throw new Error("general.alignment disagrees with alignment");

    const names = new Set<string>();
    const layout: Array<{ spec: TensorSpec; size: number; offset: number }> = [];
    let offset = 0;
    for (const spec of file.tensors) {
        if (names.has(spec.name)) throw new Error(`duplicate tensor ${spec.name}`);
        names.add(spec.name);
        const size = ggmlTypeSize(spec.type, elementCount(spec.shape));
        layout.push({ spec, size, offset });
        offset += alignUp(size, alignment);
    }

    const fd = openSync(path, "w");
    try {
        const sink = new ByteSink(fd);
        sink.u32(GGUF_MAGIC);
        sink.u32(GGUF_VERSION);
        sink.u64(layout.length);
        sink.u64(metadata.length);
        for (const [key, v] of metadata) {
            sink.string(key);
            sink.u32(v.type);
            if (v.type === GgufValueType.ARRAY) {
                sink.u32(v.itemType);
                sink.u64(v.value.length);
                for (let i = 0; i < v.value.length; i++) writeValue(sink, v.itemType, v.value[i]!);
            } else writeValue(sink, v.type, v.value);
        }
        for (const { spec, offset } of layout) {
            sink.string(spec.name);
            sink.u32(spec.shape.length);
            for (const d of spec.shape) sink.u64(d);
            sink.u32(spec.type);
            sink.u64(offset);
        }
        sink.zeros(alignUp(sink.written, alignment) - sink.written);
        const dataStart = sink.written;
        for (const { spec, size, offset } of layout) {
            const before = sink.written;
            if (before - dataStart !== offset) throw new Error(`internal: bad offset for ${spec.name}`);
            spec.write(sink);
            const got = sink.written - before;
            if (got !== size) throw new Error(`tensor ${spec.name} wrote ${got} bytes, expected ${size}`);
            sink.zeros(alignUp(size, alignment) - size);
        }
        sink.flush();
        return sink.written;
    } finally {
        closeSync(fd);
    }
}

export function alignUp(n: number, alignment: number): number {
    return Math.ceil(n / alignment) * alignment;
}

// ---------------------------------------------------------------------------
// header reader (metadata + tensor infos, no tensor data)

export interface GgufTensorInfo {
    name: string;
    shape: number[];
    type: number;
    offset: number;
}

export interface GgufHeader {
    version: number;
    metadata: Record<string, unknown>;
    tensors: GgufTensorInfo[];
    /** Absolute file offset of the tensor data section. */
    dataOffset: number;
    alignment: number;
}

class FileCursor {
    private buf = new Uint8Array(0);
    private view = new DataView(this.buf.buffer);
    private bufStart = 0;
    pos = 0;
    private readonly decoder = new TextDecoder();

    constructor(private readonly fd: number, private readonly fileSize: number) {}

    private need(n: number) {
        if (this.pos + n <= this.bufStart + this.buf.length) return;
        if (this.pos + n > this.fileSize) throw new Error("unexpected end of GGUF file");
        const len = Math.min(Math.max(n, 1 << 20), this.fileSize - this.pos);
        const b = new Uint8Array(len);
        let got = 0;
        while (got < len) {
            const r = readSync(this.fd, b, got, len - got, this.pos + got);
            if (r <= 0) throw new Error("short read");
            got += r;
        }
        this.buf = b;
        this.view = new DataView(b.buffer);
        this.bufStart = this.pos;
    }

    private at(n: number) {
        this.need(n);
        const o = this.pos - this.bufStart;
        this.pos += n;
        return o;
    }

    u8() { const o = this.at(1); return this.view.getUint8(o); }
    i8() { const o = this.at(1); return this.view.getInt8(o); }
    u16() { const o = this.at(2); return this.view.getUint16(o, true); }
    i16() { const o = this.at(2); return this.view.getInt16(o, true); }
    u32() { const o = this.at(4); return this.view.getUint32(o, true); }
    i32() { const o = this.at(4); return this.view.getInt32(o, true); }
    u64() { const o = this.at(8); return this.view.getBigUint64(o, true); }
    i64() { const o = this.at(8); return this.view.getBigInt64(o, true); }
    f32() { const o = this.at(4); return this.view.getFloat32(o, true); }
    f64() { const o = this.at(8); return this.view.getFloat64(o, true); }
    string() {
        const len = Number(this.u64());
        const o = this.at(len);
        return this.decoder.decode(this.buf.subarray(o, o + len));
    }
}

function readValue(c: FileCursor, type: number): unknown {
    switch (type) {
        case GgufValueType.UINT8: return c.u8();
        case GgufValueType.INT8: return c.i8();
        case GgufValueType.UINT16: return c.u16();
        case GgufValueType.INT16: return c.i16();
        case GgufValueType.UINT32: return c.u32();
        case GgufValueType.INT32: return c.i32();
        case GgufValueType.FLOAT32: return c.f32();
        case GgufValueType.BOOL: return c.u8() !== 0;
        case GgufValueType.STRING: return c.string();
        case GgufValueType.UINT64: return c.u64();
        case GgufValueType.INT64: return c.i64();
        case GgufValueType.FLOAT64: return c.f64();
        case GgufValueType.ARRAY: {
            const itemType = c.u32();
            const n = Number(c.u64());
            const res = new Array(n);
            for (let i = 0; i < n; i++) res[i] = readValue(c, itemType);
            return res;
        }
        default:
            throw new Error(`unknown GGUF value type ${type}`);
    }
}

/**
 * Read the metadata and tensor infos of a GGUF file without touching tensor data.
 * With `onlyKeys`, parsing stops as soon as all those keys were seen (tensor infos are then not read).
 */
export function readGgufHeader(path: string, onlyKeys?: readonly string[]): GgufHeader {
    const fd = openSync(path, "r");
    try {
        const c = new FileCursor(fd, fstatSync(fd).size);
        if (c.u32() !== GGUF_MAGIC) throw new Error(`${path} is not a GGUF file`);
        const version = c.u32();
        if (version !== 2 && version !== 3) throw new Error(`unsupported GGUF version ${version}`);
        const tensorCount = Number(c.u64());
        const kvCount = Number(c.u64());
        const metadata: Record<string, unknown> = {};
        const wanted = onlyKeys == null ? undefined : new Set(onlyKeys);
        for (let i = 0; i < kvCount; i++) {
            const key = c.string();
            metadata[key] = readValue(c, c.u32());
            if (wanted != null) {
                wanted.delete(key);
                if (wanted.size === 0) return { version, metadata, tensors: [], dataOffset: -1, alignment: -1 };
            }
        }
        const tensors: GgufTensorInfo[] = [];
        for (let i = 0; i < tensorCount; i++) {
            const name = c.string();
            const nDims = c.u32();
            const shape: number[] = [];
            for (let d = 0; d < nDims; d++) shape.push(Number(c.u64()));
            const type = c.u32();
            const offset = Number(c.u64());
            tensors.push({ name, shape, type, offset });
        }
        const alignment = Number(metadata["general.alignment"] ?? DEFAULT_ALIGNMENT);
        return { version, metadata, tensors, dataOffset: alignUp(c.pos, alignment), alignment };
    } finally {
        closeSync(fd);
    }
}

/** Read the raw bytes of one tensor (for tests on small files). */
export function readTensorBytes(path: string, header: GgufHeader, name: string): Uint8Array {
    const t = header.tensors.find((t) => t.name === name);
    if (t == null) throw new Error(`no tensor ${name}`);
    const size = ggmlTypeSize(t.type as GgmlType, elementCount(t.shape));
    const fd = openSync(path, "r");
    try {
        const b = new Uint8Array(size);
        let got = 0;
        while (got < size) got += readSync(fd, b, got, size - got, header.dataOffset + t.offset + got);
        return b;
    } finally {
        closeSync(fd);
    }
}

/** Decode a tensor's bytes to floats. */
export function decodeTensor(type: GgmlType, bytes: Uint8Array, count: number): Float32Array {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    switch (type) {
        case GgmlType.F32: {
            const res = new Float32Array(count);
            for (let i = 0; i < count; i++) res[i] = dv.getFloat32(i * 4, true);
            return res;
        }
        case GgmlType.F16: {
            const res = new Float32Array(count);
            for (let i = 0; i < count; i++) res[i] = f16ToF32(dv.getUint16(i * 2, true));
            return res;
        }
        case GgmlType.Q8_0:
            return dequantizeQ8_0(bytes, count);
    }
}
