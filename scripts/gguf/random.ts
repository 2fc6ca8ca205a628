/** Small deterministic PRNG helpers (no dependency on Math.random). */
import { f32ToF16, GgmlType, QK8_0, type TensorSpec, rowTensor, elementCount } from "./writer.ts";

/** 32-bit FNV-1a hash of a string, used to derive per-tensor seeds. */
export function hashString(s: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) {
        h ^= s.charCodeAt(i);
        h = Math.imul(h, 0x01000193);
    }
    return h >>> 0;
}

/** xoshiro128** — fast, good quality, 32-bit state words. */
export class Rng {
    private a: number;
    private b: number;
    private c: number;
    private d: number;

    constructor(seed: number | string) {
        let s = typeof seed === "string" ? hashString(seed) : seed >>> 0;
        // splitmix32 to fill the state
        const next = () => {
            s = (s + 0x9e3779b9) | 0;
            let z = s;
            z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
            z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
            return (z ^ (z >>> 16)) >>> 0;
        };
        this.a = next();
        this.b = next();
        this.c = next();
        this.d = next() | 1;
    }

    /** Uniform 32-bit unsigned integer. */
    nextU32(): number {
        const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9);
        const t = this.b << 9;
        this.c ^= this.a;
        this.d ^= this.b;
        this.b ^= this.c;
        this.a ^= this.d;
        this.c ^= t;
        this.d = rotl(this.d, 11);
        return r >>> 0;
    }

    /** Uniform in [0, 1). */
    next(): number {
        return this.nextU32() / 4294967296;
    }

    /** Uniform in [-a, a). */
    uniform(a: number): number {
        return (this.next() * 2 - 1) * a;
    }
}

function rotl(x: number, k: number) {
    return (x << k) | (x >>> (32 - k));
}

/**
 * A tensor with i.i.d. uniform random values of standard deviation `std`.
 * Q8_0 tensors are generated directly as random int8 quants with a fixed block scale
 * (much faster than quantizing floats); F16/F32 go through floats.
 */
export function randomTensor(name: string, shape: number[], type: GgmlType, std: number, seed: string): TensorSpec {
    const rng = () => new Rng(`${seed}/${name}`);
    if (type !== GgmlType.Q8_0) {
        const a = std * Math.sqrt(3);
        let r: Rng;
        return rowTensor(name, shape, type, (row, out) => {
            if (row === 0) r = rng();
            for (let i = 0; i < out.length; i++) out[i] = r.uniform(a);
        });
    }
    const n = elementCount(shape);
    if (n % QK8_0 !== 0 || shape[0]! % QK8_0 !== 0) throw new Error(`${name}: Q8_0 rows must be a multiple of ${QK8_0}`);
    // quants uniform in [-127, 127]: std = sqrt(((2*127+1)^2 - 1) / 12) ≈ 73.6
    const qStd = Math.sqrt((255 * 255 - 1) / 12);
    const d = f32ToF16(std / qStd);
    return {
        name,
        shape,
        type,
        write(sink) {
            const r = rng();
            const blocks = n / QK8_0;
            const chunkBlocks = 1 << 14;
            const buf = new Uint8Array(chunkBlocks * (2 + QK8_0));
            for (let b0 = 0; b0 < blocks; b0 += chunkBlocks) {
                const nb = Math.min(chunkBlocks, blocks - b0);
                let o = 0;
                for (let b = 0; b < nb; b++) {
                    buf[o++] = d & 0xff;
                    buf[o++] = d >>> 8;
                    for (let j = 0; j < QK8_0; j += 4) {
                        const v = r.nextU32();
                        buf[o++] = byteToQ(v & 0xff);
                        buf[o++] = byteToQ((v >>> 8) & 0xff);
                        buf[o++] = byteToQ((v >>> 16) & 0xff);
                        buf[o++] = byteToQ(v >>> 24);
                    }
                }
                sink.bytes(nb === chunkBlocks ? buf : buf.subarray(0, o));
            }
        },
    };
}

/** byte 0..255 -> int8 bits of a value in -127..127 (0 maps to -127 so -128 never appears). */
function byteToQ(b: number): number {
    const q = b === 0 ? -127 : b - 128;
    return q & 0xff;
}
