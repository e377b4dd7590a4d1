#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<harness>/ (small valid and edge-case
inputs). Each harness takes a first byte of options (see its fuzz_<name>.c) except npy.
Run from anywhere: python3 tests/fuzz/make_corpus.py"""
import os
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(harness, name, data):
    d = os.path.join(ROOT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- csv: option byte (header: %3 → auto/no/yes; label column; delimiter), then the file
put("csv", "standard", b"\x00" + b"x1,x2,y\n1,2,3\n4,5,6\n")
put("csv", "no_header_crlf", b"\x01" + b"1.5,-2e3,3\r\n4,5,6\r\n")
put("csv", "quoted_semicolon", b"\x12" + b'"a";"b";"c"\n"1"; 2 ;3\n4;"5";6\n')
put("csv", "label_first_tab", b"\x24" + b"7\t1\t2\n8\t3\t4\n")
put("csv", "bom_blank_lines", b"\x00" + b"\xef\xbb\xbfa,b\n\n1,2\n  \n3,4\n")
put("csv", "ragged", b"\x00" + b"1,2,3\n4,5\n")
put("csv", "nonfinite", b"\x00" + b"1,2\nnan,1e39\n")

# ---- npy
def npy(descr, shape, payload, major=1, extra=""):
    shp = "(" + "".join("%d, " % s for s in shape).rstrip(" ")
    shp = shp[:-1] + ",)" if len(shape) == 1 else shp.rstrip(",") + ")"
    if not shape:
        shp = "()"
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }%s" % (descr, shp, extra)
    pre = 10 if major == 1 else 12
    hl = len(d) + 1
    while (pre + hl) % 64:
        hl += 1
    head = (d + " " * (hl - len(d) - 1) + "\n").encode()
    lenb = struct.pack("<H", hl) if major == 1 else struct.pack("<I", hl)
    return b"\x93NUMPY" + bytes([major, 0]) + lenb + head + payload

put("npy", "f4_2x2", npy("<f4", [2, 2], struct.pack("<4f", 1, 2, 3, 4)))
put("npy", "f8_v2", npy("<f8", [3], struct.pack("<3d", 1.5, -2.5, 8), major=2))
put("npy", "u1_scalar_v3", npy("|u1", [], b"\x07", major=3))
put("npy", "i8_2x1x2", npy("<i8", [2, 1, 2], struct.pack("<4q", -1, 2, 3, 1 << 40)))
put("npy", "i2_empty_dim", npy("<i2", [0, 3], b""))
# Issue 9: a syntax error 2 bytes before the end of an unpadded header (heap over-read).
h = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }x\n"
put("npy", "trailing_garbage", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + b"\0\0\x80\x3f")
put("npy", "huge_shape", npy("<f8", [1 << 62, 4], b""))

# ---- idx: option byte (bit 0: the harness gzips the rest; bit 1: read as a pair), then the file
def idx(code, dims, payload):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload

put("idx", "ubyte_2x3", b"\x00" + idx(0x08, [2, 3], bytes(range(6))))
put("idx", "ubyte_2x3_gzip", b"\x01" + idx(0x08, [2, 3], bytes(range(6))))
put("idx", "float64_labels_pair", b"\x02" + idx(0x0E, [3], struct.pack(">3d", 0, 1, 2)))
put("idx", "int16_gzip_pair", b"\x03" + idx(0x0B, [2, 2], struct.pack(">4h", 1, -2, 3, 4)))
put("idx", "float32_nonfinite", b"\x00" + idx(0x0D, [2], struct.pack(">2f", 1, float("inf"))))
put("idx", "truncated_claim", b"\x00" + idx(0x0C, [46341, 46340], b"\0\0\0\1"))
put("idx", "gzip_stream_raw", b"\x00" + zlib.compress(idx(0x09, [4], b"\x01\xff\x02\xfe"), wbits=31))

# ---- checkpoint: option byte (bit 0: the harness fixes the CRC), then the file
def ckpt(layers, params, meta=b"", opt=None):
    out = b"CLGRADCK" + struct.pack("<IIII", 1, 1 if opt else 0, len(layers), len(meta))
    for kind, i, o in layers:
        out += struct.pack("<IQQ", kind, i, o)
    out += meta
    for p in params:
        out += struct.pack("<%df" % len(p), *p)
    if opt:
        groups, group_of, steps, moms = opt
        out += struct.pack("<I", len(groups))
        for lr, mom, damp, wd, nest in groups:
            out += struct.pack("<ffffI", lr, mom, damp, wd, nest)
        out += b"".join(struct.pack("<I", g) for g in group_of) + struct.pack("<Q", steps)
        for m in moms:
            out += b"\0" if m is None else b"\1" + struct.pack("<%df" % len(m), *m)
    return out + struct.pack("<I", zlib.crc32(out))

lin = ckpt([(0, 2, 1)], [[2.0, -3.4], [4.2]], b"model=linear\nloss=squared\n")
put("checkpoint", "linear_2_1", b"\x00" + lin)
mlp = ckpt([(0, 2, 3), (1, 3, 3), (0, 3, 2)],
           [[0.1] * 6, [0.0] * 3, [0.2] * 6, [0.5, -0.5]], b"model=mlp:3\nloss=xent\n",
           opt=([(0.1, 0.9, 0, 0, 0), (0.01, 0, 0, 0.001, 0)], [0, 0, 1, 1], 7,
                [[0.01] * 6, None, [0.02] * 6, [0.1, 0.2]]))
put("checkpoint", "mlp_with_optimizer", b"\x00" + mlp)
put("checkpoint", "mlp_crc_fixed_by_harness", b"\x01" + mlp[:-4] + b"\0\0\0\0")
put("checkpoint", "bad_magic", b"\x00" + b"PK\x03\x04" + lin[4:])
put("checkpoint", "trailing_bytes", b"\x01" + lin[:-4] + b"\0" * 12)
put("checkpoint", "truncated", b"\x00" + mlp[:70])

# ---- cli: selector byte (0 real, 1 epochs, 2 label column, 3 seed, 4 synthetic, 5 model,
# 6 class id as float bytes, 7 meta loss), then the text
for name, sel, text in [
    ("real", 0, b"0.03"), ("real_inf", 0, b"inf"), ("real_big", 0, b"1e39"),
    ("epochs", 1, b"1e15"), ("epochs_frac", 1, b"2.5"), ("column", 2, b"-9223372036854775809"),
    ("column_1e30", 2, b"1e30"), ("seed", 3, b"18446744073709551615"), ("seed_neg", 3, b"-1"),
    ("synthetic", 4, b"1000x5"), ("synthetic_bad", 4, b"1e30x0x3"), ("model_mlp", 5, b"mlp:256,64"),
    ("model_sign", 5, b"mlp:+5, 6"), ("meta", 7, b"model=softmax\nloss=xent\n"),
]:
    put("cli", name, bytes([sel]) + text)
put("cli", "class_id_3e9", bytes([6]) + struct.pack("<f", 3e9))
put("cli", "class_id_7", bytes([6]) + struct.pack("<f", 7.0))
