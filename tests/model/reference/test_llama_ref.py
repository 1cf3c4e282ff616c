#!/usr/bin/python3
"""Self-tests of llama_ref.py, the float64 numpy oracle.

Run:  /usr/bin/python3 tests/model/reference/test_llama_ref.py
  or  cd tests/model/reference && /usr/bin/python3 -m unittest -v

What is checked, and against what:
* GGUF parser: a GGUF file written here with struct (every metadata type, nested arrays,
  GGUF v2 and v3, default and custom alignment) reads back exactly; stories260K parses.
* Dequantization: hand-built Q8_0 / Q4_0 / F16 / BF16 data against values written out
  by hand.
* Forward pass: the vectorised whole-sequence forward (llama_ref.Model.forward) against
  a deliberately naive one-token-at-a-time forward written here (own RMSNorm, own
  per-pair RoPE loop, own per-head attention over a Python KV list, own weights
  dequantized here from the bytes this test wrote), to 1e-12, on stories260K and on
  synthetic llama / qwen2 / qwen3 GGUFs that exercise biases, GQA, NEOX vs adjacent RoPE,
  partial rotary dims, head_dim override (n_head * head_dim != n_embd), Qwen3's per-head
  Q/K RMSNorm before RoPE, linear scaling, rope_freqs, tied output and
  Q8_0 / Q4_0 / F16 / BF16 weights.
* Convention check against Hugging Face semantics: the real TinyStories-656K
  safetensors model is converted here to GGUF with llama.cpp's Q/K row permutation; the
  oracle's logits must equal a Hugging Face-style forward (rotate_half RoPE on the
  unpermuted weights).
* Tokenizer: llama.cpp's SPM test vectors; stories260K greedy generation regression.
"""

import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import llama_ref  # noqa: E402

SCRIPT = os.path.join(HERE, 'llama_ref.py')
PYTHON = '/usr/bin/python3' if os.path.exists('/usr/bin/python3') else sys.executable


def _find_shared():
    d = HERE
    for _ in range(8):
        for cand in (os.path.join(d, 'shared'), os.path.join(d, '..', 'shared')):
            if os.path.isdir(os.path.join(cand, 'models')):
                return os.path.abspath(cand)
        d = os.path.dirname(d)
    return os.environ.get('INFERGRID_SHARED', '/work/shared')


SHARED = _find_shared()
STORIES = os.path.join(SHARED, 'models', 'stories260K.gguf')
TS656K = os.path.join(SHARED, 'models', 'tinystories-656k')
SPM_DIR = os.path.join(SHARED, 'tokenizers', 'gguf')


# ----------------------------------------------------------------------------------
# A tiny GGUF writer (independent of the reader under test)
# ----------------------------------------------------------------------------------

T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64, T_I64, T_F64 = range(13)
_FMT = {T_U8: '<B', T_I8: '<b', T_U16: '<H', T_I16: '<h', T_U32: '<I', T_I32: '<i',
        T_F32: '<f', T_BOOL: '<?', T_U64: '<Q', T_I64: '<q', T_F64: '<d'}


def _enc_str(s):
    b = s.encode('utf-8')
    return struct.pack('<Q', len(b)) + b


def _enc_val(vtype, v):
    if vtype == T_STR:
        return _enc_str(v)
    if vtype == T_ARR:
        etype, items = v
        return struct.pack('<IQ', etype, len(items)) + b''.join(_enc_val(etype, x) for x in items)
    return struct.pack(_FMT[vtype], v)


def write_gguf(path, kvs, tensors, version=3, alignment=None):
    """kvs: list of (key, type, value) (arrays: value = (elem_type, items)).
    tensors: list of (name, ne list, ggml_type, raw bytes)."""
    kvs = list(kvs)
    if alignment is not None:
        kvs.append(('general.alignment', T_U32, alignment))
    align = alignment or 32
    out = bytearray(b'GGUF' + struct.pack('<IQQ', version, len(tensors), len(kvs)))
    for k, t, v in kvs:
        out += _enc_str(k) + struct.pack('<I', t) + _enc_val(t, v)
    offset = 0
    offsets = []
    for name, ne, gt, raw in tensors:
        offsets.append(offset)
        out += _enc_str(name) + struct.pack('<I', len(ne)) + b''.join(struct.pack('<Q', n) for n in ne)
        out += struct.pack('<IQ', gt, offset)
        offset += (len(raw) + align - 1) // align * align
    out += b'\0' * ((-len(out)) % align)
    for (name, ne, gt, raw), off in zip(tensors, offsets):
        assert len(out) % align == 0
        out += raw
        out += b'\0' * ((-len(out)) % align)
    with open(path, 'wb') as f:
        f.write(out)


# ----------------------------------------------------------------------------------
# Quantizers and scalar dequantizers written here (independent of llama_ref)
# ----------------------------------------------------------------------------------

GT_F32, GT_F16, GT_Q4_0, GT_Q8_0, GT_BF16 = 0, 1, 2, 8, 30


def f16(x):
    return struct.unpack('<e', struct.pack('<e', x))[0]


def encode(values, gt):
    """values: flat list of floats (row-major, ne0 contiguous) -> (raw bytes, the exact
    float values the stored data represents, computed with plain Python scalars)."""
    vals = [float(v) for v in values]
    if gt == GT_F32:
        raw = struct.pack(f'<{len(vals)}f', *vals)
        return raw, list(struct.unpack(f'<{len(vals)}f', raw))
    if gt == GT_F16:
        raw = struct.pack(f'<{len(vals)}e', *vals)
        return raw, list(struct.unpack(f'<{len(vals)}e', raw))
    if gt == GT_BF16:
        raw = bytearray()
        deq = []
        for v in vals:
            u = struct.unpack('<I', struct.pack('<f', v))[0] >> 16       # truncate to bf16
            raw += struct.pack('<H', u)
            deq.append(struct.unpack('<f', struct.pack('<I', u << 16))[0])
        return bytes(raw), deq
    assert len(vals) % 32 == 0
    raw = bytearray()
    deq = []
    for b0 in range(0, len(vals), 32):
        blk = vals[b0:b0 + 32]
        if gt == GT_Q8_0:
            amax = max(abs(v) for v in blk)
            d = f16(amax / 127.0)
            q = [max(-127, min(127, round(v / d))) if d else 0 for v in blk]
            raw += struct.pack('<e', d) + struct.pack('<32b', *q)
            deq += [d * qi for qi in q]
        elif gt == GT_Q4_0:
            m = max(blk, key=abs)
            d = f16(m / -8.0)
            q = [max(0, min(15, int(v / d + 8.5))) if d else 8 for v in blk]
            qs = [q[j] | (q[j + 16] << 4) for j in range(16)]
            raw += struct.pack('<e', d) + bytes(qs)
            deq += [d * (qi - 8) for qi in q]
        else:
            raise ValueError(gt)
    return bytes(raw), deq


# ----------------------------------------------------------------------------------
# Naive one-token-at-a-time forward (independent of llama_ref.Model.forward)
# ----------------------------------------------------------------------------------

def naive_forward(w, hp, tokens, pos0=0):
    """w: dict name -> float64 numpy array in GGUF numpy orientation ((out, in) matrices);
    hp: dict of hyperparameters.  Processes tokens one by one with a KV list."""
    n_head, n_kv, hd = hp['n_head'], hp['n_head_kv'], hp['head_dim']
    rd, base, eps = hp['rope_dim'], hp['freq_base'], hp['eps']
    neox = hp['neox']
    lin = hp.get('linear_factor', 1.0)
    freq_factors = hp.get('freq_factors')

    def rmsnorm(v, g):
        ms = sum(float(e) * float(e) for e in v) / len(v)
        return np.array([float(e) / math.sqrt(ms + eps) for e in v]) * g

    def rope(vec, p):
        vec = vec.copy()
        for i in range(rd // 2):
            theta = (p / lin) * base ** (-2.0 * i / rd)
            if freq_factors is not None:
                theta /= freq_factors[i]
            c, s = math.cos(theta), math.sin(theta)
            a, b = (i, i + rd // 2) if neox else (2 * i, 2 * i + 1)
            x0, x1 = vec[a], vec[b]
            vec[a] = x0 * c - x1 * s
            vec[b] = x0 * s + x1 * c
        return vec

    kv = [[] for _ in range(hp['n_layer'])]   # per layer: list of (k heads, v heads)
    out = []
    for t, tok in enumerate(tokens):
        p = pos0 + t
        x = w['token_embd.weight'][tok].copy()
        for il in range(hp['n_layer']):
            L = lambda s: w.get(f'blk.{il}.{s}')  # noqa: E731
            h = rmsnorm(x, L('attn_norm.weight'))
            q = L('attn_q.weight').dot(h)
            k = L('attn_k.weight').dot(h)
            v = L('attn_v.weight').dot(h)
            if L('attn_q.bias') is not None:
                q = q + L('attn_q.bias')
            if L('attn_k.bias') is not None:
                k = k + L('attn_k.bias')
            if L('attn_v.bias') is not None:
                v = v + L('attn_v.bias')
            qh = [q[i * hd:(i + 1) * hd] for i in range(n_head)]
            kh = [k[j * hd:(j + 1) * hd] for j in range(n_kv)]
            if hp.get('qk_norm'):
                # Qwen3: each head RMS-normalised with the shared [head_dim] weight, pre-RoPE.
                qh = [rmsnorm(e, L('attn_q_norm.weight')) for e in qh]
                kh = [rmsnorm(e, L('attn_k_norm.weight')) for e in kh]
            qh = [rope(e, p) for e in qh]
            kh = [rope(e, p) for e in kh]
            vh = [v[j * hd:(j + 1) * hd] for j in range(n_kv)]
            kv[il].append((kh, vh))
            heads = []
            for i in range(n_head):
                j = i // (n_head // n_kv)
                sc = [float(qh[i].dot(kk[j])) / math.sqrt(hd) for kk, _ in kv[il]]
                m = max(sc)
                e = [math.exp(s - m) for s in sc]
                z = sum(e)
                o = np.zeros(hd)
                for ei, (_, vv) in zip(e, kv[il]):
                    o += (ei / z) * vv[j]
                heads.append(o)
            x = x + L('attn_output.weight').dot(np.concatenate(heads))
            h = rmsnorm(x, L('ffn_norm.weight'))
            g = L('ffn_gate.weight').dot(h)
            u = L('ffn_up.weight').dot(h)
            act = np.array([gi / (1.0 + math.exp(-gi)) if gi > -700 else 0.0 for gi in g]) * u
            x = x + L('ffn_down.weight').dot(act)
        x = rmsnorm(x, w['output_norm.weight'])
        wout = w['output.weight'] if 'output.weight' in w else w['token_embd.weight']
        out.append(wout.dot(x))
    return np.array(out)


def assert_close(tc, a, b, tol, what=''):
    tc.assertEqual(a.shape, b.shape, what)
    err = float(np.max(np.abs(a - b)))
    tc.assertLessEqual(err, tol, f'{what}: max abs diff {err:g} > {tol:g}')
    return err


# ----------------------------------------------------------------------------------
# Synthetic models
# ----------------------------------------------------------------------------------

def build_synthetic(path, arch, seed, *, n_embd=64, n_layer=2, n_ff=96, n_head=4, n_head_kv=2,
                    key_length=None, rope_dim=None, n_vocab=50, tied=False, biases=False,
                    qk_norm=False, linear_factor=None, freq_factors=None, freq_base=10000.0,
                    eps=1e-5, types=None, version=3, alignment=None, omit=()):
    """Write a random-weight model GGUF; return (weights as float64 dict, hparams).
    omit: tensor names left out of the file (error tests)."""
    rng = np.random.default_rng(seed)
    hd = key_length or n_embd // n_head
    rd = rope_dim or hd
    types = types or {}
    kvs = [('general.architecture', T_STR, arch),
           ('general.name', T_STR, 'synthetic'),
           (f'{arch}.embedding_length', T_U32, n_embd),
           (f'{arch}.block_count', T_U32, n_layer),
           (f'{arch}.feed_forward_length', T_U32, n_ff),
           (f'{arch}.attention.head_count', T_U32, n_head),
           (f'{arch}.attention.head_count_kv', T_U32, n_head_kv),
           (f'{arch}.attention.layer_norm_rms_epsilon', T_F32, eps),
           (f'{arch}.rope.freq_base', T_F32, freq_base)]
    if key_length:
        kvs.append((f'{arch}.attention.key_length', T_U32, key_length))
        kvs.append((f'{arch}.attention.value_length', T_U32, key_length))
    if rope_dim:
        kvs.append((f'{arch}.rope.dimension_count', T_U32, rope_dim))
    if linear_factor:
        kvs.append((f'{arch}.rope.scaling.type', T_STR, 'linear'))
        kvs.append((f'{arch}.rope.scaling.factor', T_F32, linear_factor))
    tensors, w = [], {}

    def add(name, shape, scale, gt=None, offset=0.0):
        gt = types.get(name.split('.', 2)[-1] if name.startswith('blk.') else name, GT_F32) if gt is None else gt
        vals = (rng.standard_normal(int(np.prod(shape))) * scale + offset).tolist()
        raw, deq = encode(vals, gt)
        tensors.append((name, list(reversed(shape)), gt, raw))
        w[name] = np.array(deq, dtype=np.float64).reshape(shape)

    add('token_embd.weight', (n_vocab, n_embd), 1.0)
    for il in range(n_layer):
        b = f'blk.{il}.'
        add(b + 'attn_norm.weight', (n_embd,), 0.1, offset=1.0)
        add(b + 'attn_q.weight', (n_head * hd, n_embd), 0.3)
        add(b + 'attn_k.weight', (n_head_kv * hd, n_embd), 0.3)
        add(b + 'attn_v.weight', (n_head_kv * hd, n_embd), 0.3)
        if biases:
            add(b + 'attn_q.bias', (n_head * hd,), 0.5)
            add(b + 'attn_k.bias', (n_head_kv * hd,), 0.5)
            add(b + 'attn_v.bias', (n_head_kv * hd,), 0.5)
        if qk_norm:
            add(b + 'attn_q_norm.weight', (hd,), 0.3, offset=1.0)
            add(b + 'attn_k_norm.weight', (hd,), 0.3, offset=1.0)
        add(b + 'attn_output.weight', (n_embd, n_head * hd), 0.2)
        add(b + 'ffn_norm.weight', (n_embd,), 0.1, offset=1.0)
        add(b + 'ffn_gate.weight', (n_ff, n_embd), 0.3)
        add(b + 'ffn_up.weight', (n_ff, n_embd), 0.3)
        add(b + 'ffn_down.weight', (n_embd, n_ff), 0.2)
    add('output_norm.weight', (n_embd,), 0.1, offset=1.0)
    if not tied:
        add('output.weight', (n_vocab, n_embd), 0.3)
    if freq_factors is not None:
        raw, deq = encode(freq_factors, GT_F32)
        tensors.append(('rope_freqs.weight', [len(freq_factors)], GT_F32, raw))
        freq_factors = deq
    tensors = [t for t in tensors if t[0] not in omit]
    rng.shuffle(tensors)  # the reader must not depend on tensor order
    write_gguf(path, kvs, tensors, version=version, alignment=alignment)
    hp = dict(n_head=n_head, n_head_kv=n_head_kv, head_dim=hd, rope_dim=rd, freq_base=float(np.float32(freq_base)),
              eps=float(np.float32(eps)), neox=arch in ('qwen2', 'qwen3'), n_layer=n_layer,
              qk_norm=qk_norm,
              linear_factor=float(np.float32(linear_factor)) if linear_factor else 1.0,
              freq_factors=freq_factors)
    return w, hp


# ----------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------

class TestDequant(unittest.TestCase):
    def test_q8_0_hand_block(self):
        # d = 0.5 (exact in f16), quants -16..15
        q = list(range(-16, 16))
        raw = struct.pack('<e', 0.5) + struct.pack('<32b', *q)
        self.assertEqual(len(raw), 34)
        got = llama_ref.dequantize(raw, 8, 32)
        self.assertEqual(got.dtype, np.float64)
        self.assertEqual(got.tolist(), [0.5 * v for v in q])
        # two blocks, second with d = -0.25 and extreme quants
        q2 = [127, -128] + [0] * 29 + [1]
        raw2 = raw + struct.pack('<e', -0.25) + struct.pack('<32b', *q2)
        got = llama_ref.dequantize(raw2, 8, 64)
        self.assertEqual(got[32:].tolist(), [-0.25 * v for v in q2])

    def test_q4_0_hand_block(self):
        # byte j: low nibble = element j, high nibble = element j+16; x = d*(nib-8)
        qs = bytes([(j & 0xF) | ((15 - j) << 4) for j in range(16)])
        raw = struct.pack('<e', 2.0) + qs
        self.assertEqual(len(raw), 18)
        got = llama_ref.dequantize(raw, 2, 32)
        want = [2.0 * (j - 8) for j in range(16)] + [2.0 * ((15 - j) - 8) for j in range(16)]
        self.assertEqual(got.tolist(), want)
        # a concrete byte: 0x1F -> low 15 -> +7d, high 1 -> -7d
        raw = struct.pack('<e', 0.125) + bytes([0x1F] + [0x88] * 15)
        got = llama_ref.dequantize(raw, 2, 32)
        self.assertEqual(got[0], 0.125 * 7)
        self.assertEqual(got[16], 0.125 * -7)
        self.assertTrue(np.all(got[1:16] == 0) and np.all(got[17:] == 0))

    def test_f16_bf16_f32(self):
        raw = struct.pack('<3e', 1.5, -2.0, 65504.0)
        self.assertEqual(llama_ref.dequantize(raw, 1, 3).tolist(), [1.5, -2.0, 65504.0])
        # bf16 0x3FC0 = 1.5, 0xC000 = -2.0, 0x3F80 = 1.0
        raw = struct.pack('<3H', 0x3FC0, 0xC000, 0x3F80)
        self.assertEqual(llama_ref.dequantize(raw, 30, 3).tolist(), [1.5, -2.0, 1.0])
        raw = struct.pack('<2f', 0.1, -3.0)
        self.assertEqual(llama_ref.dequantize(raw, 0, 2).tolist(), [float(np.float32(0.1)), -3.0])

    # K-quant blocks assembled from the format definition with plain Python loops; every
    # expected value is exact in float64.
    K_SC = [1, 2, 3, 63, 17, 33, 48, 5]
    K_MN = [0, 7, 63, 1, 20, 40, 2, 60]

    def k_packed_scales(self):
        sc, mn = self.K_SC, self.K_MN
        out = [0] * 12
        for j in range(4):
            out[j] = sc[j] | ((sc[j + 4] >> 4) << 6)
            out[j + 4] = mn[j] | ((mn[j + 4] >> 4) << 6)
            out[j + 8] = (sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4)
        return bytes(out)

    def test_q4_k_hand_block(self):
        qs = bytes((k * 37 + 5) & 0xFF for k in range(128))
        raw = struct.pack('<ee', 1.5, 0.5) + self.k_packed_scales() + qs
        got = llama_ref.dequantize(raw, 12, 256)
        for k in range(256):
            g, w, j = k // 64, k % 64, k // 32
            byte = qs[32 * g + w % 32]
            q = byte & 15 if w < 32 else byte >> 4
            self.assertEqual(got[k], 1.5 * self.K_SC[j] * q - 0.5 * self.K_MN[j], k)

    def test_q5_k_hand_block(self):
        qs = bytes((k * 53 + 7) & 0xFF for k in range(128))
        qh = bytes((k * 29 + 3) & 0xFF for k in range(32))
        raw = struct.pack('<ee', 1.0, 0.25) + self.k_packed_scales() + qh + qs
        got = llama_ref.dequantize(raw + raw, 13, 512)
        for k in range(256):
            g, w, j = k // 64, k % 64, k // 32
            byte = qs[32 * g + w % 32]
            q = (byte & 15 if w < 32 else byte >> 4) + 16 * ((qh[w % 32] >> j) & 1)
            want = 1.0 * self.K_SC[j] * q - 0.25 * self.K_MN[j]
            self.assertEqual(got[k], want, k)
            self.assertEqual(got[256 + k], want, k)

    def test_q6_k_hand_block(self):
        ql = bytes((k * 41 + 9) & 0xFF for k in range(128))
        qh = bytes((k * 23 + 101) & 0xFF for k in range(64))
        sc = [1, -2, 3, -4, 127, -128, 0, 9, -17, 33, 64, -65, 100, 5, -1, 77]
        raw = ql + qh + struct.pack('<16b', *sc) + struct.pack('<e', 0.25)
        got = llama_ref.dequantize(raw, 14, 256)
        for k in range(256):
            h, r, l = k // 128, (k % 128) // 32, k % 32
            lb = ql[64 * h + 32 * (r % 2) + l]
            low = lb & 15 if r < 2 else lb >> 4
            high = (qh[32 * h + l] >> (2 * r)) & 3
            self.assertEqual(got[k], 0.25 * sc[k // 16] * ((low | (high << 4)) - 32), k)

    def test_unknown_type_and_bad_sizes(self):
        with self.assertRaises(llama_ref.RefError):
            llama_ref.dequantize(b'\0' * 110, 11, 256)   # Q3_K: not supported -> clear error
        with self.assertRaises(llama_ref.RefError):
            llama_ref.dequantize(b'\0' * 144, 12, 255)   # Q4_K: partial super-block
        with self.assertRaises(llama_ref.RefError):
            llama_ref.dequantize(b'\0' * 34, 8, 31)
        with self.assertRaises(llama_ref.RefError):
            llama_ref.dequantize(b'\0' * 33, 8, 32)

    def test_encoder_roundtrip(self):
        rng = np.random.default_rng(0)
        vals = rng.standard_normal(96).tolist()
        for gt in (GT_F32, GT_F16, GT_BF16, GT_Q8_0, GT_Q4_0):
            raw, deq = encode(vals, gt)
            self.assertEqual(llama_ref.dequantize(raw, gt, 96).tolist(), deq, f'type {gt}')


class TestGGUFParser(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def _write_all_types(self, version, alignment):
        path = os.path.join(self.tmp.name, f'kv_v{version}_{alignment}.gguf')
        kvs = [('a.u8', T_U8, 250), ('a.i8', T_I8, -100), ('a.u16', T_U16, 65000), ('a.i16', T_I16, -32000),
               ('a.u32', T_U32, 4000000000), ('a.i32', T_I32, -2000000000), ('a.f32', T_F32, 0.25),
               ('a.bool', T_BOOL, True), ('a.str', T_STR, 'héllo ▁ wörld'), ('a.u64', T_U64, 2 ** 63 + 5),
               ('a.i64', T_I64, -2 ** 62), ('a.f64', T_F64, 1e-300),
               ('a.arr_str', T_ARR, (T_STR, ['x', '', '<0x0A>'])),
               ('a.arr_f32', T_ARR, (T_F32, [1.0, -0.5])),
               ('a.arr_bool', T_ARR, (T_BOOL, [True, False])),
               ('a.arr_nested', T_ARR, (T_ARR, [(T_I32, [1, 2]), (T_STR, ['y'])])),
               ('a.arr_empty', T_ARR, (T_U8, []))]
        t1 = np.arange(6, dtype=np.float32)
        t2 = struct.pack('<e', 1.0) + bytes(range(16))
        tensors = [('t.f32', [3, 2], GT_F32, t1.tobytes()),      # ne=[3,2] -> numpy (2,3)
                   ('t.q4', [32], GT_Q4_0, t2),
                   ('t.f16', [2, 1, 2], GT_F16, struct.pack('<4e', 1, 2, 3, 4))]
        write_gguf(path, kvs, tensors, version=version, alignment=alignment)
        return path

    def test_roundtrip_all_types(self):
        for version, alignment in ((3, None), (2, None), (3, 64), (3, 1)):
            g = llama_ref.GGUFFile(self._write_all_types(version, alignment))
            self.assertEqual(g.version, version)
            kv = g.kv
            self.assertEqual(kv['a.u8'], 250)
            self.assertEqual(kv['a.i8'], -100)
            self.assertEqual(kv['a.u16'], 65000)
            self.assertEqual(kv['a.i16'], -32000)
            self.assertEqual(kv['a.u32'], 4000000000)
            self.assertEqual(kv['a.i32'], -2000000000)
            self.assertEqual(kv['a.f32'], 0.25)
            self.assertIs(kv['a.bool'], True)
            self.assertEqual(kv['a.str'], 'héllo ▁ wörld')
            self.assertEqual(kv['a.u64'], 2 ** 63 + 5)
            self.assertEqual(kv['a.i64'], -2 ** 62)
            self.assertEqual(kv['a.f64'], 1e-300)
            self.assertEqual(kv['a.arr_str'], ['x', '', '<0x0A>'])
            self.assertEqual(list(kv['a.arr_f32']), [1.0, -0.5])
            self.assertEqual(list(kv['a.arr_bool']), [True, False])
            self.assertEqual(len(kv['a.arr_nested']), 2)
            self.assertEqual(list(kv['a.arr_nested'][0]), [1, 2])
            self.assertEqual(kv['a.arr_nested'][1], ['y'])
            self.assertEqual(len(kv['a.arr_empty']), 0)
            self.assertEqual(g.data_start % (alignment or 32), 0)
            self.assertEqual(set(g.tensors), {'t.f32', 't.q4', 't.f16'})
            self.assertEqual(g.tensors['t.f32'].ne, (3, 2))
            np.testing.assert_array_equal(g.tensor('t.f32'), np.arange(6.0).reshape(2, 3))
            np.testing.assert_array_equal(g.rows('t.f32', [1, 0]), [[3, 4, 5], [0, 1, 2]])
            np.testing.assert_array_equal(g.tensor('t.q4'), [(j & 0xF) - 8.0 for j in range(16)]
                                          + [(j >> 4) - 8.0 for j in range(16)])
            np.testing.assert_array_equal(g.tensor('t.f16'), np.array([1., 2, 3, 4]).reshape(2, 1, 2))

    def test_errors(self):
        bad = os.path.join(self.tmp.name, 'bad.gguf')
        with open(bad, 'wb') as f:
            f.write(b'GGML' + b'\0' * 20)
        with self.assertRaises(llama_ref.RefError):
            llama_ref.GGUFFile(bad)
        good = self._write_all_types(3, None)
        with open(good, 'rb') as f:
            data = f.read()
        with open(bad, 'wb') as f:
            f.write(data[:100])   # truncated inside the metadata
        with self.assertRaises(llama_ref.RefError):
            llama_ref.GGUFFile(bad)
        with open(bad, 'wb') as f:
            f.write(data[:4] + struct.pack('<I', 1) + data[8:])
        with self.assertRaises(llama_ref.RefError):
            llama_ref.GGUFFile(bad)
        with self.assertRaises(llama_ref.RefError):
            llama_ref.GGUFFile(os.path.join(self.tmp.name, 'missing.gguf'))

    @unittest.skipUnless(os.path.exists(STORIES), 'stories260K.gguf not available')
    def test_parse_stories260k(self):
        g = llama_ref.GGUFFile(STORIES)
        self.assertIn(g.version, (2, 3))
        self.assertEqual(g.kv['general.architecture'], 'llama')
        self.assertEqual(g.kv['llama.embedding_length'], 64)
        self.assertEqual(g.kv['llama.block_count'], 5)
        self.assertEqual(g.kv['llama.feed_forward_length'], 172)
        self.assertEqual(g.kv['llama.attention.head_count'], 8)
        self.assertEqual(g.kv['llama.attention.head_count_kv'], 4)
        self.assertEqual(g.kv['llama.rope.dimension_count'], 8)
        self.assertNotIn('general.alignment', g.kv)
        self.assertEqual(g.data_start % 32, 0)
        self.assertEqual(len(g.kv['tokenizer.ggml.tokens']), 512)
        self.assertEqual(g.kv['tokenizer.ggml.tokens'][1], '<s>')
        self.assertEqual(len(g.tensors), 3 + 5 * 9)
        self.assertEqual(g.tensors['token_embd.weight'].ne, (64, 512))
        self.assertEqual(g.tensors['blk.0.attn_k.weight'].ne, (64, 32))
        self.assertEqual(g.tensors['blk.0.ffn_down.weight'].ne, (172, 64))
        self.assertTrue(all(t.type == 0 for t in g.tensors.values()))
        # the last tensor's data must end within the file
        end = max(g.data_start + t.offset + t.n_elems * 4 for t in g.tensors.values())
        self.assertLessEqual(end, os.path.getsize(STORIES))
        w = g.tensor('blk.4.ffn_down.weight')
        self.assertEqual(w.shape, (64, 172))
        self.assertTrue(np.all(np.isfinite(w)) and np.std(w) > 0)
        m = llama_ref.Model(STORIES)
        self.assertEqual((m.n_vocab, m.head_dim, m.rope_dim, m.output_name), (512, 8, 8, 'output.weight'))


class TestForward(unittest.TestCase):
    TOL = 1e-12

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def _check_model(self, path, w, hp, tokens, pos0=0):
        m = llama_ref.Model(path)
        full = m.forward(tokens, pos0)
        naive = naive_forward(w, hp, tokens, pos0)
        assert_close(self, full, naive, self.TOL, f'{os.path.basename(path)} vectorised vs naive')
        # incremental KV-cache path (used by generate): prefill in two chunks then one by one
        cache = m.new_kv_cache()
        parts = [m.forward(tokens[:3], pos0, cache), m.forward(tokens[3:5], pos0 + 3, cache)]
        for i in range(5, len(tokens)):
            parts.append(m.forward(tokens[i:i + 1], pos0 + i, cache))
        assert_close(self, np.concatenate(parts), full, self.TOL, 'kv-cache chunks vs whole sequence')
        # cached-weights mode gives the same numbers
        m2 = llama_ref.Model(path, cache_weights=True)
        assert_close(self, m2.forward(tokens, pos0), full, self.TOL, 'cached weights')
        return m, full

    @unittest.skipUnless(os.path.exists(STORIES), 'stories260K.gguf not available')
    def test_stories260k_vectorised_equals_naive(self):
        g = llama_ref.GGUFFile(STORIES)
        w = {n: g.tensor(n) for n in g.tensors}
        hp = dict(n_head=8, n_head_kv=4, head_dim=8, rope_dim=8, freq_base=10000.0,
                  eps=g.kv['llama.attention.layer_norm_rms_epsilon'], neox=False, n_layer=5)
        tokens = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315]
        self._check_model(STORIES, w, hp, tokens)
        self._check_model(STORIES, w, hp, tokens[:7], pos0=5)

    def test_synthetic_qwen2(self):
        path = os.path.join(self.tmp.name, 'qwen2.gguf')
        w, hp = build_synthetic(path, 'qwen2', 1, biases=True, tied=True, n_head=8, n_head_kv=2,
                                key_length=12, rope_dim=8, freq_base=1000000.0, eps=1e-6,
                                types={'attn_q.weight': GT_Q8_0, 'ffn_up.weight': GT_Q8_0,
                                       'ffn_down.weight': GT_Q8_0, 'token_embd.weight': GT_Q8_0,
                                       'attn_norm.weight': GT_BF16, 'attn_k.bias': GT_F16})
        m, _ = self._check_model(path, w, hp, [3, 7, 7, 0, 49, 12, 5, 30, 2])
        self.assertTrue(m.rope_neox)
        self.assertEqual(m.output_name, 'token_embd.weight')

    def test_synthetic_qwen3(self):
        # Qwen3-0.6B's proportions: n_head * head_dim = 128 != n_embd = 64, no biases.
        path = os.path.join(self.tmp.name, 'qwen3.gguf')
        w, hp = build_synthetic(path, 'qwen3', 4, qk_norm=True, tied=True, n_head=4, n_head_kv=2,
                                key_length=32, freq_base=1000000.0, eps=1e-6,
                                types={'attn_q.weight': GT_Q8_0, 'attn_output.weight': GT_Q8_0,
                                       'ffn_gate.weight': GT_F16, 'attn_k_norm.weight': GT_BF16,
                                       'attn_q_norm.weight': GT_F16})
        m, full = self._check_model(path, w, hp, [3, 7, 7, 0, 49, 12, 5, 30, 2], pos0=3)
        self.assertTrue(m.rope_neox and m.qk_norm)
        self.assertEqual((m.head_dim, m.n_head * m.head_dim, m.n_embd), (32, 128, 64))
        # Guard: the norm must matter, and the naive forward must agree only with it on.
        m.qk_norm = False
        off = m.forward([3, 7, 7, 0, 49, 12, 5, 30, 2], 3)
        self.assertGreater(float(np.max(np.abs(off - full))), 1e-2)
        hp['qk_norm'] = False
        assert_close(self, off, naive_forward(w, hp, [3, 7, 7, 0, 49, 12, 5, 30, 2], 3), self.TOL)

    def test_qwen3_without_q_norm_is_refused(self):
        path = os.path.join(self.tmp.name, 'qwen3-bad.gguf')
        build_synthetic(path, 'qwen3', 5, qk_norm=True, key_length=32,
                        omit=('blk.1.attn_q_norm.weight',))
        with self.assertRaisesRegex(llama_ref.RefError, r'blk\.1\.attn_q_norm\.weight'):
            llama_ref.Model(path)

    def test_synthetic_llama(self):
        path = os.path.join(self.tmp.name, 'llama.gguf')
        w, hp = build_synthetic(path, 'llama', 2, n_head=4, n_head_kv=1, key_length=24,
                                linear_factor=4.0, freq_factors=[1.0, 1.5, 4.0, 8.0, 2.0, 1.0, 1.0, 32.0, 1.0, 1.0, 1.0, 1.0],
                                freq_base=500000.0, version=2, alignment=64,
                                types={'attn_v.weight': GT_Q4_0, 'ffn_gate.weight': GT_Q4_0,
                                       'attn_output.weight': GT_Q4_0, 'output.weight': GT_Q8_0,
                                       'ffn_norm.weight': GT_F16, 'attn_k.weight': GT_F16})
        m, _ = self._check_model(path, w, hp, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], pos0=100)
        self.assertFalse(m.rope_neox)
        self.assertEqual(m.rope_pos_scale, 0.25)

    def test_rope_pairing_differs(self):
        # Guard against the naive reference silently agreeing on a wrong pairing: the same
        # weights read as qwen2 (NEOX) vs llama (adjacent) must give different logits.
        pa = os.path.join(self.tmp.name, 'a.gguf')
        w, hp = build_synthetic(pa, 'llama', 3)
        m = llama_ref.Model(pa)
        a = m.forward([1, 2, 3, 4])
        m.rope_neox = True
        b = m.forward([1, 2, 3, 4])
        self.assertGreater(float(np.max(np.abs(a - b))), 1e-3)
        hp['neox'] = True
        assert_close(self, b, naive_forward(w, hp, [1, 2, 3, 4]), self.TOL)

    @unittest.skipUnless(os.path.exists(os.path.join(TS656K, 'model.safetensors')),
                         'tinystories-656k not available')
    def test_hf_semantics_via_llamacpp_permutation(self):
        """Convert a real HF Llama checkpoint to GGUF the way llama.cpp's converter does
        (Q/K rows permuted for adjacent-pair RoPE) and compare with a Hugging Face-style
        forward (rotate_half RoPE) on the original weights."""
        with open(os.path.join(TS656K, 'config.json')) as f:
            cfg = json.load(f)
        with open(os.path.join(TS656K, 'model.safetensors'), 'rb') as f:
            n = struct.unpack('<Q', f.read(8))[0]
            header = json.loads(f.read(n))
            data = f.read()
        st = {}
        for k, v in header.items():
            if k == '__metadata__':
                continue
            self.assertEqual(v['dtype'], 'F32')
            a, b = v['data_offsets']
            st[k] = np.frombuffer(data[a:b], dtype='<f4').reshape(v['shape']).astype(np.float64)
        d, nh, nkv = cfg['hidden_size'], cfg['num_attention_heads'], cfg['num_key_value_heads']
        nl, hd, eps, base = cfg['num_hidden_layers'], d // nh, cfg['rms_norm_eps'], cfg['rope_theta']
        emb = st.get('model.embed_tokens.weight', st.get('lm_head.weight'))

        def permute(wt, n_head):
            # convert_hf_to_gguf.py LlamaModel.permute
            return wt.reshape(n_head, 2, wt.shape[0] // n_head // 2, *wt.shape[1:]).swapaxes(1, 2).reshape(wt.shape)

        def t(name, arr):
            arr = np.ascontiguousarray(arr, dtype='<f4')
            return (name, list(reversed(arr.shape)), GT_F32, arr.tobytes())

        tensors = [t('token_embd.weight', emb), t('output_norm.weight', st['model.norm.weight'])]
        for i in range(nl):
            p = f'model.layers.{i}.'
            tensors += [t(f'blk.{i}.attn_norm.weight', st[p + 'input_layernorm.weight']),
                        t(f'blk.{i}.attn_q.weight', permute(st[p + 'self_attn.q_proj.weight'], nh)),
                        t(f'blk.{i}.attn_k.weight', permute(st[p + 'self_attn.k_proj.weight'], nkv)),
                        t(f'blk.{i}.attn_v.weight', st[p + 'self_attn.v_proj.weight']),
                        t(f'blk.{i}.attn_output.weight', st[p + 'self_attn.o_proj.weight']),
                        t(f'blk.{i}.ffn_norm.weight', st[p + 'post_attention_layernorm.weight']),
                        t(f'blk.{i}.ffn_gate.weight', st[p + 'mlp.gate_proj.weight']),
                        t(f'blk.{i}.ffn_up.weight', st[p + 'mlp.up_proj.weight']),
                        t(f'blk.{i}.ffn_down.weight', st[p + 'mlp.down_proj.weight'])]
        kvs = [('general.architecture', T_STR, 'llama'),
               ('llama.embedding_length', T_U32, d), ('llama.block_count', T_U32, nl),
               ('llama.feed_forward_length', T_U32, cfg['intermediate_size']),
               ('llama.attention.head_count', T_U32, nh), ('llama.attention.head_count_kv', T_U32, nkv),
               ('llama.attention.layer_norm_rms_epsilon', T_F64, eps),  # F64 keeps eps exact
               ('llama.rope.freq_base', T_F64, base)]
        path = os.path.join(self.tmp.name, 'ts656k.gguf')
        write_gguf(path, kvs, tensors)

        # Hugging Face LlamaForCausalLM forward (modeling_llama.py semantics), float64.
        tokens = [1, 300, 17, 845, 1200, 5, 2047, 99, 640, 3, 1000, 42]
        T = len(tokens)
        inv_freq = 1.0 / (base ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
        freqs = np.arange(T, dtype=np.float64)[:, None] * inv_freq[None, :]
        embp = np.concatenate([freqs, freqs], axis=-1)
        cos, sin = np.cos(embp)[None], np.sin(embp)[None]       # (1, T, hd)

        def rotate_half(x):
            return np.concatenate([-x[..., hd // 2:], x[..., :hd // 2]], axis=-1)

        def norm(x, g):
            return g * (x / np.sqrt(np.mean(x ** 2, -1, keepdims=True) + eps))

        x = emb[tokens]
        mask = np.triu(np.full((T, T), -np.inf), 1)
        for i in range(nl):
            p = f'model.layers.{i}.'
            h = norm(x, st[p + 'input_layernorm.weight'])
            q = (h @ st[p + 'self_attn.q_proj.weight'].T).reshape(T, nh, hd).transpose(1, 0, 2)
            k = (h @ st[p + 'self_attn.k_proj.weight'].T).reshape(T, nkv, hd).transpose(1, 0, 2)
            v = (h @ st[p + 'self_attn.v_proj.weight'].T).reshape(T, nkv, hd).transpose(1, 0, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = np.repeat(k, nh // nkv, axis=0)                  # repeat_kv
            v = np.repeat(v, nh // nkv, axis=0)
            s = q @ k.transpose(0, 2, 1) / math.sqrt(hd) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            o = (s @ v).transpose(1, 0, 2).reshape(T, nh * hd)
            x = x + o @ st[p + 'self_attn.o_proj.weight'].T
            h = norm(x, st[p + 'post_attention_layernorm.weight'])
            g = h @ st[p + 'mlp.gate_proj.weight'].T
            x = x + ((g / (1 + np.exp(-g))) * (h @ st[p + 'mlp.up_proj.weight'].T)) @ st[p + 'mlp.down_proj.weight'].T
        hf = norm(x, st['model.norm.weight']) @ st['lm_head.weight'].T

        ours = llama_ref.Model(path).forward(tokens)
        err = assert_close(self, ours, hf, 1e-10 * max(1.0, float(np.max(np.abs(hf)))), 'oracle vs HF')
        self.assertLess(err, 1e-9)


class TestTokenizerAndCLI(unittest.TestCase):
    @unittest.skipUnless(os.path.exists(os.path.join(SPM_DIR, 'ggml-vocab-llama-spm.gguf')), 'vocab not available')
    def test_spm_vectors(self):
        for name in ('llama-spm', 'phi-3'):
            base = os.path.join(SPM_DIR, f'ggml-vocab-{name}.gguf')
            if not os.path.exists(base + '.inp'):
                continue
            tok = llama_ref.Tokenizer(llama_ref.GGUFFile(base))
            with open(base + '.inp', encoding='utf-8') as f:
                inp = f.read().split('\n__ggml_vocab_test__\n')
            with open(base + '.out', encoding='utf-8') as f:
                out = f.read().split('\n')
            for s, o in zip(inp, out):
                self.assertEqual(tok.encode(s, add_bos=False), [int(x) for x in o.split()], f'{name}: {s!r}')
            ids = tok.encode('Hello world', add_bos=True)
            self.assertEqual(ids[0], 1)
            self.assertEqual(tok.decode(ids), 'Hello world')
            self.assertEqual(tok.decode(tok.encode(' x\n\t🦙 ü', add_bos=True)), ' x\n\t🦙 ü')

    @unittest.skipUnless(os.path.exists(STORIES), 'stories260K.gguf not available')
    def test_stories260k_generate_cli(self):
        r = subprocess.run([PYTHON, SCRIPT, 'generate', '--model', STORIES, '--prompt', 'Once upon a time',
                            '-n', '32', '--print-prompt-ids', '--text'], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.split('\n')
        self.assertEqual(lines[0], '1 403 407 261 378')
        gen = [int(x) for x in lines[1].split()]
        self.assertEqual(len(gen), 32)
        self.assertEqual(gen[:8], [432, 383, 286, 261, 376, 298, 315, 421])
        self.assertTrue(lines[2].startswith('Once upon a time, there was a little girl named Lily.'), lines[2])
        # generation == argmax of full recomputation at every step
        m = llama_ref.Model(STORIES)
        seq = [1, 403, 407, 261, 378]
        for _ in range(6):
            seq.append(int(np.argmax(m.forward(seq)[-1])))
        self.assertEqual(seq[5:], gen[:6])
        r = subprocess.run([PYTHON, SCRIPT, 'tokenize', '--model', STORIES, 'Once upon a time'],
                           capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout), (0, '1 403 407 261 378\n'))

    @unittest.skipUnless(os.path.exists(STORIES), 'stories260K.gguf not available')
    def test_logits_cli(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, 'l.bin')
            r = subprocess.run([PYTHON, SCRIPT, 'logits', '--model', STORIES, '--tokens', '1,403,407,261',
                                '--out', out], capture_output=True, text=True)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, '', ''))
            got = np.fromfile(out, dtype='<f8').reshape(4, 512)
            np.testing.assert_allclose(got, llama_ref.Model(STORIES).forward([1, 403, 407, 261]), rtol=0, atol=1e-12)
            r = subprocess.run([PYTHON, SCRIPT, 'logits', '--model', STORIES, '--tokens', '1,403',
                                '--out', out, '--positions-start', '7'], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            np.testing.assert_allclose(np.fromfile(out, dtype='<f8').reshape(2, 512),
                                       llama_ref.Model(STORIES).forward([1, 403], 7), rtol=0, atol=1e-12)
            for bad in (['--tokens', '1,512'], ['--tokens', 'x']):
                r = subprocess.run([PYTHON, SCRIPT, 'logits', '--model', STORIES, '--out', out] + bad,
                                   capture_output=True, text=True)
                self.assertEqual(r.returncode, 1)
                self.assertIn('error', r.stderr)
            r = subprocess.run([PYTHON, SCRIPT, 'logits', '--model', os.path.join(d, 'none.gguf'),
                                '--tokens', '1', '--out', out], capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)


if __name__ == '__main__':
    unittest.main()
