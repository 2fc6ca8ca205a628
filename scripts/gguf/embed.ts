/**
 * A constructed (not trained) embedding model of llama.cpp's `qwen3` architecture with mean
 * pooling, for tests of retrieval: the cosine similarity of two texts follows the words they share.
 *
 * Construction:
 * - every layer's attn_output and ffn_down are zero, so the final hidden state of each token is its
 *   own embedding (RMS-normalized by output_norm) and mean pooling averages the texts' word vectors;
 * - a token's embedding is a random unit vector seeded by its word, case and leading whitespace
 *   aside ("Paris", " paris" and " Paris" share one), so random vectors in 256 dimensions being
 *   nearly orthogonal, two texts are similar as far as they share words;
 * - stop words, whitespace, punctuation and special tokens embed to zero (RMSNorm keeps zero at
 *   zero), so they take no part: "the" and "is" do not make every pair of sentences alike;
 * - the vocabulary holds common English words (each casing, with and without a leading space) as
 *   single tokens; other words fall into byte-level pieces, which still match between texts.
 */
import { buildQwen3, constantTensor, type Qwen3Shape, type WeightSource } from "./qwen3.ts";
import { Rng } from "./random.ts";
import { TokenType, Vocab } from "./tokenizer.ts";
import { GgmlType, type GgufFile, kv, LlamaFileType, rowTensor } from "./writer.ts";

const EMBED_SHAPE: Qwen3Shape = { hidden: 256, layers: 1, heads: 2, kvHeads: 1, headDim: 64, ffn: 64, contextLength: 8192 };

/** llama.cpp's LLAMA_POOLING_TYPE_MEAN */
const POOLING_MEAN = 1;

/** Words that embed to zero: they say nothing about what a text is about. */
const STOP_WORDS: ReadonlySet<string> = new Set(
    ("a an the and or but if of to in on at by for with from into onto about as is are was were be been being am do does did " +
        "has have had it its this that these those there here what which who whom whose when where why how not no yes " +
        "i me my we our you your he him his she her they them their can could will would shall should may might must " +
        "so than then too very just also all any each some such only own same other more most").split(" "),
);

const CONTENT_WORDS =
    ("capital city country france paris germany berlin spain madrid italy rome japan tokyo england london river mountain " +
        "ocean sea lake island north south east west world europe asia africa america population language people " +
        "banana bananas apple apples orange oranges fruit fruits yellow red green blue purple black white color colour " +
        "cat cats dog dogs bird birds fish horse cow animal animals tree trees flower flowers garden grass water fire " +
        "sun moon star stars sky rain snow wind weather summer winter spring autumn day night morning evening week year " +
        "time history war king queen president government law money bank price market company business work job " +
        "school student teacher book books page word words story letter number numbers science math physics chemistry " +
        "computer software program code data file files server network internet database query search vector model " +
        "music song songs film movie art game games sport football team player ball food bread cheese milk coffee tea " +
        "wine beer sugar salt meat chicken rice soup dinner lunch breakfast kitchen house home room door window car " +
        "train plane ship road bridge street town village market station hospital doctor health body heart head hand " +
        "eye eyes water energy power light sound heat cold hot warm new old big small large long short high low fast slow " +
        "good bad best first last next many much few great little right left open close start stop make made take " +
        "took give gave find found know knew think thought say said tell told see saw come came go went get got " +
        "use used work worked call called ask asked need want like love live lived grow grows grew eat eats ate " +
        "drink read write wrote run ran walk play played build built buy sell pay paid show shown keep kept " +
        "policy return refund price shipping order orders customer support account password email phone address " +
        "secret plan plans project report meeting manager office invoice contract payment delivery warranty").split(" ");

/** Every casing and spacing of a word that a sentence may hold. */
function variants(word: string): string[] {
    const title = word[0]!.toUpperCase() + word.slice(1);
    return [word, ` ${word}`, title, ` ${title}`];
}

function embedVocab(): Vocab {
    return new Vocab({ tokens: [...STOP_WORDS, ...CONTENT_WORDS].flatMap(variants) });
}

/** The word a token stands for: its text, case and surrounding whitespace aside; "" for whitespace, punctuation and specials. */
function tokenWord(vocab: Vocab, id: number): string {
    const type = vocab.types[id];
    if (type === TokenType.CONTROL || type === TokenType.USER_DEFINED) return "";
    const word = vocab.text(id).trim().toLowerCase();
    return /[\p{L}\p{N}]/u.test(word) && !STOP_WORDS.has(word) ? word : "";
}

/** A unit vector seeded by the word: the same word, the same vector, in every build. */
function wordVector(word: string, out: Float32Array): void {
    const rng = new Rng(`hearth-embed/${word}`);
    let norm = 0;
    for (let i = 0; i < out.length; i++) {
        // A sum of uniforms is near enough Gaussian for directions spread evenly over the sphere.
        const x = rng.uniform(1) + rng.uniform(1) + rng.uniform(1);
        out[i] = x;
        norm += x * x;
    }
    const scale = 1 / Math.sqrt(norm);
    for (let i = 0; i < out.length; i++) out[i]! *= scale;
}

function embedWeights(vocab: Vocab): WeightSource {
    return (req) => {
        if (req.role === "token_embd") {
            return rowTensor(req.name, req.shape, req.type, (token, out) => {
                const word = tokenWord(vocab, token);
                if (word !== "") wordVector(word, out);
            });
        }
        if (req.shape.length === 1) return constantTensor(req, 1);
        return constantTensor(req, 0);
    };
}

export function buildEmbed(): GgufFile {
    const vocab = embedVocab();
    return buildQwen3({
        name: "Hearth Test Qwen3 embed",
        shape: EMBED_SHAPE,
        vocab,
        types: { norm: GgmlType.F32, embd: GgmlType.F16, output: GgmlType.F16, attn: GgmlType.F16, ffn: GgmlType.F16 },
        fileType: LlamaFileType.MOSTLY_F16,
        tiedOutput: true,
        weights: embedWeights(vocab),
        extraMetadata: [[`qwen3.pooling_type`, kv.u32(POOLING_MEAN)]],
    });
}
