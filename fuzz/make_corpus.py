#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets: make_corpus.py OUT_DIR (one folder per target).

Seeds come from small hand-written inputs below, from models/ in the repository, and from the
reference data in ../shared when it is there (skipped otherwise). Big reference files are cut
down to seeds that fit each target's -max_len: GGUF files keep their metadata with arrays
shortened and only their small tensors, safetensors files keep their header with shapes shrunk,
tokenizer.model keeps its specs and first pieces.
"""
import json
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
MODEL = ROOT / "models" / "smoe-mixtral-tiny"


class Seeds:
    """Writes numbered seed files into OUT/<target>/, skipping duplicates."""

    def __init__(self, out):
        self.out = Path(out)
        self.count = {}

    def add(self, target, data, max_len):
        if isinstance(data, str):
            data = data.encode()
        if len(data) > max_len:
            data = data[:max_len]
        folder = self.out / target
        folder.mkdir(parents=True, exist_ok=True)
        n = self.count.get(target, 0)
        (folder / f"seed-{n:04d}").write_bytes(data)
        self.count[target] = n + 1


def reference(*parts):
    path = SHARED.joinpath(*parts)
    return path if path.exists() else None


# ---- GGUF ----------------------------------------------------------------------------------

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?",
          U64: "<Q", I64: "<q", F64: "<d"}
# ggml type -> (block size, bytes per block), for the types small tensors use.
GGML_BLOCKS = {0: (1, 4), 1: (1, 2), 30: (1, 2), 8: (32, 34), 2: (32, 18), 12: (256, 144), 14: (256, 210)}


class GgufReader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        value = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def string(self):
        n = self.take("<Q")
        s = self.data[self.pos:self.pos + n]
        self.pos += n
        return s

    def value(self, vtype):
        if vtype == STR:
            return self.string()
        if vtype == ARR:
            etype, count = self.take("<I"), self.take("<Q")
            return (etype, [self.value(etype) for _ in range(count)])
        return self.take(SCALAR[vtype])


def read_gguf(data):
    r = GgufReader(data)
    assert data[:4] == b"GGUF"
    r.pos = 4
    version, n_tensors, n_kv = r.take("<I"), r.take("<Q"), r.take("<Q")
    kvs = []
    for _ in range(n_kv):
        key, vtype = r.string(), r.take("<I")
        kvs.append((key, vtype, r.value(vtype)))
    alignment = next((v for k, t, v in kvs if k == b"general.alignment"), 32)
    tensors = []
    for _ in range(n_tensors):
        name, n_dims = r.string(), r.take("<I")
        dims = [r.take("<Q") for _ in range(n_dims)]
        tensors.append((name, dims, r.take("<I"), r.take("<Q")))
    data_start = (r.pos + alignment - 1) // alignment * alignment
    return version, kvs, tensors, data_start


def encode_value(vtype, value):
    if vtype == STR:
        return struct.pack("<Q", len(value)) + value
    if vtype == ARR:
        etype, items = value
        return struct.pack("<IQ", etype, len(items)) + b"".join(encode_value(etype, v) for v in items)
    return struct.pack(SCALAR[vtype], value)


def write_gguf(kvs, tensors, version=3, alignment=32):
    """kvs: [(key bytes, type, value)]; tensors: [(name bytes, dims, ggml type, data bytes)]."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)))
    for key, vtype, value in kvs:
        out += struct.pack("<Q", len(key)) + key + struct.pack("<I", vtype) + encode_value(vtype, value)
    offset, blobs = 0, []
    for name, dims, gtype, blob in tensors:
        out += struct.pack("<Q", len(name)) + name + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", gtype, offset)
        blobs.append((offset, blob))
        offset += (len(blob) + alignment - 1) // alignment * alignment
    out += b"\0" * (-len(out) % alignment)
    data_start = len(out)
    out += b"\0" * offset
    for off, blob in blobs:
        out[data_start + off:data_start + off + len(blob)] = blob
    return bytes(out)


def tensor_bytes(dims, gtype):
    block, size = GGML_BLOCKS.get(gtype, (None, None))
    if block is None or dims[0] % block:
        return None
    n = 1
    for d in dims:
        n *= d
    return n // block * size


def shrink_gguf(data, keep_array=40, max_tensor=1024):
    """The metadata of a real file with arrays shortened, and only its small tensors."""
    version, kvs, tensors, data_start = read_gguf(data)
    small_kvs = []
    for key, vtype, value in kvs:
        if vtype == ARR:
            value = (value[0], value[1][:keep_array])
        small_kvs.append((key, vtype, value))
    small_tensors = []
    for name, dims, gtype, offset in tensors:
        n = tensor_bytes(dims, gtype)
        if n is not None and n <= max_tensor:
            start = data_start + offset
            small_tensors.append((name, dims, gtype, data[start:start + n]))
    alignment = next((v for k, t, v in kvs if k == b"general.alignment"), 32)
    return write_gguf(small_kvs, small_tensors[:6], version, alignment)


def tiny_llama_kvs(n_vocab=24):
    pieces = [b"<unk>", b"<s>", b"</s>"] + [b"<0x%02X>" % b for b in range(8)]
    pieces += [b"\xe2\x96\x81", b"a", b"b", b"\xe2\x96\x81a", b"ab", b"[", b"]", b"I", b"N", b"S", b"T", b"/", b"\xe2\x96\x81["]
    pieces = pieces[:n_vocab]
    types = [2, 3, 3] + [6] * 8 + [1] * (len(pieces) - 11)
    return [
        (b"general.architecture", STR, b"llama"),
        (b"general.name", STR, b"fuzz-tiny"),
        (b"general.alignment", U32, 32),
        (b"llama.context_length", U32, 64),
        (b"llama.embedding_length", U32, 32),
        (b"llama.block_count", U32, 1),
        (b"llama.feed_forward_length", U32, 64),
        (b"llama.attention.head_count", U32, 4),
        (b"llama.attention.head_count_kv", U32, 2),
        (b"llama.rope.freq_base", F32, 1e6),
        (b"llama.attention.layer_norm_rms_epsilon", F32, 1e-5),
        (b"llama.expert_count", U32, 4),
        (b"llama.expert_used_count", U32, 2),
        (b"tokenizer.ggml.model", STR, b"llama"),
        (b"tokenizer.ggml.tokens", ARR, (STR, pieces)),
        (b"tokenizer.ggml.scores", ARR, (F32, [-float(i) for i in range(len(pieces))])),
        (b"tokenizer.ggml.token_type", ARR, (I32, types)),
        (b"tokenizer.ggml.bos_token_id", U32, 1),
        (b"tokenizer.ggml.eos_token_id", U32, 2),
        (b"tokenizer.ggml.add_bos_token", BOOL, True),
    ]


def gguf_seeds(seeds):
    t, max_len = "gguf", 16384
    every_type = [(b"t.u8", U8, 1), (b"t.i8", I8, -1), (b"t.u16", U16, 2), (b"t.i16", I16, -2),
                  (b"t.u32", U32, 3), (b"t.i32", I32, -3), (b"t.f32", F32, 0.5), (b"t.bool", BOOL, True),
                  (b"t.str", STR, b"text"), (b"t.u64", U64, 2**63 + 1), (b"t.i64", I64, -4), (b"t.f64", F64, 0.25),
                  (b"t.ints", ARR, (I32, [1, 2, 3])), (b"t.floats", ARR, (F64, [1.0, 2.0])),
                  (b"t.strs", ARR, (STR, [b"a", b"bc"])), (b"t.nested", ARR, (ARR, [(U8, [1, 2]), (STR, [b"x"])]))]
    norm = struct.pack("<32f", *([1.0] * 32))
    q8 = (struct.pack("<e", 0.5) + bytes(range(32))) * 2
    seeds.add(t, write_gguf([], []), max_len)
    seeds.add(t, write_gguf(every_type, []), max_len)
    seeds.add(t, write_gguf(every_type, [(b"norm", [32], 0, norm)], version=2), max_len)
    seeds.add(t, write_gguf(tiny_llama_kvs(), [(b"output_norm.weight", [32], 0, norm),
                                              (b"blk.0.attn_norm.weight", [32], 0, norm),
                                              (b"q8", [32, 2], 8, q8),
                                              (b"token_embd.weight", [32, 24, 1, 1], 1, bytes(32 * 24 * 2))]), max_len)
    seeds.add(t, write_gguf(tiny_llama_kvs(11), [], alignment=64)[:], max_len)
    for path in sorted((SHARED / "golden").glob("*.gguf")) + [reference("tokenizer", "ggml-vocab-llama-spm.gguf")]:
        if path and path.exists():
            data = path.read_bytes()
            seeds.add(t, shrink_gguf(data), max_len)
    for path in [reference("golden", "micro-q8_0.gguf")]:
        if path:
            seeds.add(t, path.read_bytes()[:4096], max_len)  # a real header, cut short


# ---- safetensors ---------------------------------------------------------------------------

ST_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
            "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}


def write_safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape)]; data is zeros."""
    header, offset = {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape in tensors:
        n = ST_SIZES[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + b"\0" * offset


def shrink_safetensors(path, keep=8):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    metadata = header.pop("__metadata__", None)
    tensors = [(name, e["dtype"], [min(d, 2) for d in e["shape"]]) for name, e in sorted(header.items())[:keep]]
    return write_safetensors(tensors, metadata)


def safetensors_seeds(seeds):
    t, max_len = "safetensors", 8192
    seeds.add(t, write_safetensors([]), max_len)
    seeds.add(t, write_safetensors([("w", "F32", [2, 3])], {"format": "pt"}), max_len)
    seeds.add(t, write_safetensors([(f"t.{d}", d, [2]) for d in ST_SIZES] + [("empty", "F16", [0, 4]), ("scalar", "BF16", [])]),
              max_len)
    paths = sorted((SHARED / "hf").glob("*/*.safetensors")) + [MODEL / "model.safetensors"]
    for path in paths:
        if path.exists():
            seeds.add(t, shrink_safetensors(path), max_len)


# ---- config.json ---------------------------------------------------------------------------

def hf_config_seeds(seeds):
    t, max_len = "hf_config", 4096
    configs = [p for p in sorted((SHARED / "hf").glob("*/config.json")) + [MODEL / "config.json"] if p.exists()]
    base = {"architectures": ["MixtralForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2}
    variants = [base,
                dict(base, architectures=["MistralForCausalLM"], sliding_window=16, rope_theta=10000.0),
                dict(base, architectures=["LlamaForCausalLM"], head_dim=32, rms_norm_eps=1e-6, rope_scaling=None),
                dict(base, num_local_experts=8, num_experts_per_tok=2, hidden_act="silu", max_position_embeddings=128),
                dict(base, _name_or_path="org/model", vocab_size=32000, rope_scaling={"type": "linear"}),
                dict(base, _name_or_path=42, hidden_act=[["gelu"]])]  # bugs once (hf_config_test)
    for p in configs:
        seeds.add(t, p.read_bytes(), max_len)
    for v in variants:
        seeds.add(t, json.dumps(v), max_len)


# ---- tokenizer -----------------------------------------------------------------------------

def tokenizer_seeds(seeds):
    t, max_len = "tokenizer", 2048
    texts = ["", " ", "Hello world", " [INST] What is 5 + 5? [/INST]", "caf\u00e9 \u2581 \U0001f642", "a\tb\nc  d",
             "\u00ff\u4e2d\u6587", "<s></s><unk>"]
    raw = [b"\xff\xfe invalid \xc3", b"\xe2\x82", b"\x00\x01\x02"]
    vectors = reference("tokenizer", "mixtral-v1-vectors.json")
    ids_lists = []
    if vectors:
        for case in json.loads(vectors.read_text())["cases"]:
            texts.append(case["text"])
            ids_lists.append(case["ids"])
    inp = reference("tokenizer", "ggml-vocab-llama-spm.gguf.inp")
    if inp:
        texts += inp.read_text().split("\n__ggml_vocab_test__\n")
    out = reference("tokenizer", "ggml-vocab-llama-spm.gguf.out")
    if out:
        ids_lists += [[int(x) for x in line.split()] for line in out.read_text().splitlines()]
    valid = MODEL / "valid.txt"
    if valid.exists():
        text = valid.read_bytes()
        for start in range(0, min(len(text), 8 * 1500), 1500):
            raw.append(text[start:start + 1500])
    for text in texts:
        seeds.add(t, b"\x00" + text.encode(), max_len)
    for data in raw:
        seeds.add(t, b"\x00" + data, max_len)
    for ids in ids_lists:  # mode 1: uint16 ids offset by 8 (see fuzz_tokenizer.cpp)
        seeds.add(t, b"\x01" + b"".join(struct.pack("<H", i + 8) for i in ids), max_len)
        seeds.add(t, b"\x02" + b"".join(struct.pack("<i", i) for i in ids), max_len)


# ---- tokenizer.model -----------------------------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, wire, payload):
    key = varint(number << 3 | wire)
    if wire == 2:
        return key + varint(len(payload)) + payload
    return key + payload


def read_varint(data, pos):
    """The varint at data[pos:] and the position after it."""
    value, shift = 0, 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def proto_fields(data):
    """Top-level (field, wire, raw bytes of the whole field) of a protobuf message."""
    pos, fields = 0, []
    while pos < len(data):
        start = pos
        key, pos = read_varint(data, pos)
        wire = key & 7
        if wire == 0:
            _, pos = read_varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            n, pos = read_varint(data, pos)
            pos += n
        fields.append((key >> 3, wire, data[start:pos]))
    return fields


def sp_piece(text, score, kind):
    return field(1, 2, field(1, 2, text.encode()) + field(2, 5, struct.pack("<f", score)) + field(3, 0, varint(kind)))


def sentencepiece_seeds(seeds):
    t, max_len = "sentencepiece_model", 16384
    pieces = [sp_piece("<unk>", 0, 2), sp_piece("<s>", 0, 3), sp_piece("</s>", 0, 3)]
    pieces += [sp_piece("<0x%02X>" % b, 0, 6) for b in (0x0A, 0x20, 0xC3, 0xFF)]
    pieces += [sp_piece(p, -i, 1) for i, p in enumerate(["\u2581", "a", "b", "\u2581a", "ab", "H", "e", "l", "o"])]
    pieces += [sp_piece("[INST]", 0, 4), sp_piece("ll", -3, 5)]
    trainer = field(2, 2, field(3, 0, varint(2)) + field(35, 0, varint(1)) + field(40, 0, varint(0)))
    normalizer = field(3, 2, field(1, 2, b"identity") + field(3, 0, varint(1)) + field(4, 0, varint(0)))
    seeds.add(t, b"".join(pieces) + trainer + normalizer, max_len)
    seeds.add(t, b"".join(pieces[:3]) + field(2, 2, field(3, 0, varint(2))), max_len)
    model = MODEL / "tokenizer.model"
    if not model.exists():
        model = reference("tokenizer", "mixtral-v1.tokenizer.model")
    if model:
        fields = proto_fields(model.read_bytes())
        real_pieces = [raw for number, _, raw in fields if number == 1]
        specs = b"".join(raw for number, _, raw in fields if number != 1)
        for keep in (300, 600):
            seeds.add(t, b"".join(real_pieces[:keep]) + specs, max_len)


# ---- chat messages and request bodies ------------------------------------------------------

CHATS = [
    [{"role": "user", "content": "Hello"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2 + 2?"}],
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "[INST] <s>"}],
    [{"role": "developer", "content": "x"}, {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
    [{"role": "assistant", "content": "first"}],
    [{"role": "user", "content": None}],
    [{"role": "tool", "content": "x"}],
    [{"role": "user", "content": [{"type": 1, "text": "a"}]}],  # a bug once (chat_format_test)
]


def chat_seeds(seeds):
    t, max_len = "chat_messages", 4096
    sample = reference("tokenizer", "mixtral-v1-chat-sample.messages.json")
    if sample:
        seeds.add(t, json.dumps(json.loads(sample.read_text())["messages"]), max_len)
    for chat in CHATS:
        seeds.add(t, json.dumps(chat), max_len)


def completion_request_seeds(seeds):
    t, max_len = "completion_request", 4096
    chat_bodies = [
        {"model": "smoe", "messages": CHATS[1], "max_tokens": 8, "temperature": 0.7, "top_p": 0.9, "top_k": 40,
         "min_p": 0.05, "seed": 42, "stop": ["\n", "END"], "stream": True, "stream_options": {"include_usage": True}},
        {"messages": CHATS[2], "logprobs": True, "top_logprobs": 3, "presence_penalty": 0.5, "frequency_penalty": -0.5,
         "max_completion_tokens": 4, "n": 1, "smoe_routing": True},
        {"messages": CHATS[0], "repeat_penalty": 1.1, "stop": "x", "tools": None, "echo": False},
    ]
    completion_bodies = [
        {"model": "smoe", "prompt": "Once upon a time", "max_tokens": 16, "logprobs": 2, "echo": False, "best_of": 1},
        {"prompt": [1, 415, 2936], "temperature": 0, "seed": -1},
        {"prompt": [[1, 2, 3]], "stream": False},
        {"prompt": ["one prompt"], "suffix": None, "stop": []},
    ]
    for body in chat_bodies:
        seeds.add(t, b"\x00" + json.dumps(body).encode(), max_len)
    for body in completion_bodies:
        seeds.add(t, b"\x01" + json.dumps(body).encode(), max_len)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_corpus.py OUT_DIR")
    seeds = Seeds(sys.argv[1])
    if not SHARED.exists():
        print(f"make_corpus: {SHARED} not found: seeds from models/ and hand-written ones only")
    for build in (gguf_seeds, safetensors_seeds, hf_config_seeds, tokenizer_seeds, sentencepiece_seeds, chat_seeds,
                  completion_request_seeds):
        build(seeds)
    print("make_corpus: " + ", ".join(f"{t} {n}" for t, n in sorted(seeds.count.items())))


if __name__ == "__main__":
    main()
