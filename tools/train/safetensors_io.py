"""Minimal safetensors reader/writer (no dependency on the safetensors package).

File layout: 8-byte little-endian unsigned header length N, then N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, padded with spaces
to a multiple of 8, then the raw little-endian tensor data (offsets relative to the data start).
"""
import json
import os
import struct

import numpy as np
import torch

_DTYPES = {"F32": (torch.float32, 4), "BF16": (torch.bfloat16, 2), "F16": (torch.float16, 2)}


def bf16_bits(t):
    """Round a float tensor to bfloat16 (round-to-nearest-even, as torch does) -> uint16 numpy."""
    b = t.detach().to(torch.float32).to(torch.bfloat16).contiguous()
    return b.view(torch.int16).numpy().view(np.uint16)


def write(path, tensors, dtype="BF16", metadata=None):
    """tensors: ordered dict name -> torch tensor. dtype: "BF16" or "F32" for every tensor."""
    if dtype not in ("BF16", "F32"):
        raise ValueError(dtype)
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        if dtype == "BF16":
            raw = bf16_bits(t).astype("<u2").tobytes()
        else:
            raw = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    meta = {"format": "pt"}
    meta.update(metadata or {})
    header = {"__metadata__": meta, **header}
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((8 - len(hj) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read(path):
    """-> (dict name -> float32 torch tensor, metadata). Accepts F32, BF16, F16."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        tdt, size = _DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        shape = info["shape"]
        count = int(np.prod(shape)) if shape else 1
        if e - b != count * size:
            raise ValueError("bad size for %s" % name)
        buf = data[base + b: base + e]
        if info["dtype"] == "F32":
            arr = torch.from_numpy(np.frombuffer(buf, dtype="<f4").copy())
        elif info["dtype"] == "F16":
            arr = torch.from_numpy(np.frombuffer(buf, dtype="<f2").astype(np.float32))
        else:
            u = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            arr = torch.from_numpy(u.view(np.float32).copy())
        out[name] = arr.reshape(shape)
    return out, meta


def read_dir(model_dir):
    """Read model.safetensors or the shards listed in model.safetensors.index.json."""
    idx = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    out = {}
    for fn in files:
        t, _ = read(os.path.join(model_dir, fn))
        out.update(t)
    return out
