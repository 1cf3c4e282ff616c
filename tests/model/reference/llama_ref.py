#!/usr/bin/python3
"""Independent float64 reference ("oracle") for Llama / Qwen2 / Qwen3 inference on GGUF files.

This script is deliberately self-contained (Python 3 standard library + numpy) and
shares no code with the C++ engine: it parses the GGUF container itself, dequantizes
the tensors to float64 and runs the transformer forward pass in float64, following
Hugging Face transformers' Llama/Qwen2/Qwen3 semantics and llama.cpp's GGUF conventions.

Command line
------------
  M may be a Hugging Face model folder (config.json + safetensors) instead of a GGUF
  file: it is read by HFFolder below, weights in HF's own layout.
  llama_ref.py logits   --model M.gguf --tokens 1,2,3 --out OUT.bin [--positions-start P]
      Runs the tokens as ONE sequence (causal attention among them) and writes the
      logits of EVERY position as float64 little-endian, shape [n_tokens, n_vocab],
      row-major, to OUT.bin.  Token i is rotated (RoPE) at position P + i (P = 0 by
      default).  Prints nothing on success.
  llama_ref.py generate --model M.gguf (--prompt TEXT | --tokens IDS) -n N
                        [--print-prompt-ids] [--text]
      Greedy decoding (argmax, lowest id on ties) of exactly N new tokens (it does not
      stop at EOS).  --prompt is tokenized with the GGUF vocab (BOS added when
      tokenizer.ggml.add_bos_token says so); --tokens is used verbatim.
      Prints: [prompt ids line if --print-prompt-ids], the generated ids line,
      [the decoded text of prompt + generated ids if --text].
  llama_ref.py tokenize --model M.gguf [--no-bos] TEXT
      Prints the token ids (SentencePiece-style "llama" vocab only).
On any error a message goes to stderr and the exit status is 1.

Conventions that are easy to get wrong (see also the comments at each place)
-------------------------------------------------------------------------
* Tensor orientation: GGUF lists dimensions as ne[0], ne[1], ... with ne[0] the
  contiguous one, so a 2-D tensor with ne = [ne0, ne1] is ne1 rows of ne0 values:
  numpy shape (ne1, ne0).  A linear layer weight W with ne = [n_in, n_out] is thus the
  numpy matrix (n_out, n_in) and y = W @ x, i.e. for a batch X (T, n_in): Y = X @ W.T.
  This is the same (out, in) orientation as PyTorch's nn.Linear.weight.
* RoPE pairing: llama.cpp's converter PERMUTES the rows of Wq and Wk of "llama" models
  so that the Hugging Face rotate_half pairs (x[i], x[i + d/2]) become ADJACENT pairs
  (x[2i], x[2i+1]) ("normal" rope in ggml).  "qwen2" and "qwen3" GGUF files are not
  permuted and use the NEOX pairing (x[i], x[i + rope_dim/2]).  In both cases pair i
  rotates by theta_i = p * base^(-2i/rope_dim) (optionally / linear factor, / rope_freqs[i]).
* Qwen3 QK-norm: after the Q and K projections (Qwen3 has no QKV biases) every head of
  Q and of K (head_dim values) is RMS-normalised on its own and multiplied by
  blk.N.attn_q_norm.weight / attn_k_norm.weight (shape [head_dim], shared by all heads),
  with the model's rms epsilon, BEFORE RoPE (HF Qwen3Attention: q_norm(q_proj(x).view(
  ..., head_dim)) then apply_rotary_pos_emb).  head_dim comes from
  attention.key_length and n_head * head_dim need not equal n_embd (Qwen3-0.6B: 16 x 128
  = 2048 vs 1024), so attn_output maps n_head * head_dim back to n_embd.
"""

import argparse
import mmap
import os
import struct
import sys

import numpy as np


class RefError(Exception):
    """An error reported to the user as a one-line message (exit status 1)."""


# ----------------------------------------------------------------------------------
# GGUF container
# ----------------------------------------------------------------------------------

# Metadata value types.
GGUF_U8, GGUF_I8, GGUF_U16, GGUF_I16, GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL = range(8)
GGUF_STRING, GGUF_ARRAY, GGUF_U64, GGUF_I64, GGUF_F64 = range(8, 13)

# Fixed-size scalar metadata types -> little-endian numpy dtype.
_SCALAR_DTYPES = {
    GGUF_U8: np.dtype('<u1'), GGUF_I8: np.dtype('<i1'),
    GGUF_U16: np.dtype('<u2'), GGUF_I16: np.dtype('<i2'),
    GGUF_U32: np.dtype('<u4'), GGUF_I32: np.dtype('<i4'),
    GGUF_F32: np.dtype('<f4'), GGUF_BOOL: np.dtype('<u1'),
    GGUF_U64: np.dtype('<u8'), GGUF_I64: np.dtype('<i8'),
    GGUF_F64: np.dtype('<f8'),
}

# ggml tensor types this reference can dequantize: type id -> (name, block elems, block bytes).
GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0, GGML_BF16 = 0, 1, 2, 8, 30
GGML_Q4_K, GGML_Q5_K, GGML_Q6_K = 12, 13, 14
GGML_TYPES = {
    GGML_F32: ('F32', 1, 4),
    GGML_F16: ('F16', 1, 2),
    GGML_Q4_0: ('Q4_0', 32, 18),
    GGML_Q8_0: ('Q8_0', 32, 34),
    GGML_BF16: ('BF16', 1, 2),
    GGML_Q4_K: ('Q4_K', 256, 144),
    GGML_Q5_K: ('Q5_K', 256, 176),
    GGML_Q6_K: ('Q6_K', 256, 210),
}

# Q8_0 block: f16 scale d, then 32 int8 quants; x = d * q.
_Q8_0_BLOCK = np.dtype([('d', '<f2'), ('qs', 'i1', (32,))])
# Q4_0 block: f16 scale d, then 16 bytes; byte j holds element j in its low nibble and
# element j+16 in its high nibble; x = d * (nibble - 8).
_Q4_0_BLOCK = np.dtype([('d', '<f2'), ('qs', 'u1', (16,))])
assert _Q8_0_BLOCK.itemsize == 34 and _Q4_0_BLOCK.itemsize == 18

# K-quants: super-blocks of 256 elements.
# Q4_K: f16 d, f16 dmin, 12 bytes of packed 6-bit scales/mins for 8 sub-blocks of 32, then
# 128 bytes: 4 groups of 32 bytes, byte l of group g holds element 64g+l (low nibble) and
# 64g+32+l (high nibble); x = d*scale_j*q - dmin*min_j for sub-block j = element // 32.
_Q4_K_BLOCK = np.dtype([('d', '<f2'), ('dmin', '<f2'), ('scales', 'u1', (12,)),
                        ('qs', 'u1', (128,))])
# Q5_K: as Q4_K plus qh[32] before qs: bit j of qh[l] is the fifth bit (value 16) of
# element l of sub-block j.
_Q5_K_BLOCK = np.dtype([('d', '<f2'), ('dmin', '<f2'), ('scales', 'u1', (12,)),
                        ('qh', 'u1', (32,)), ('qs', 'u1', (128,))])
# Q6_K: ql[128], qh[64], 16 int8 scales (one per 16 elements), f16 d; x = d*scale*(q - 32).
# In half h (128 elements), quarter r, position l: the low 4 bits are the low (r < 2) or
# high (r >= 2) nibble of ql[64h + 32*(r % 2) + l], the top 2 bits are bits 2r..2r+1 of
# qh[32h + l].
_Q6_K_BLOCK = np.dtype([('ql', 'u1', (128,)), ('qh', 'u1', (64,)), ('scales', 'i1', (16,)),
                        ('d', '<f2')])
assert (_Q4_K_BLOCK.itemsize, _Q5_K_BLOCK.itemsize, _Q6_K_BLOCK.itemsize) == (144, 176, 210)


def _k_scales_mins(s):
    """The 8 six-bit scales and mins of Q4_K/Q5_K from their 12 packed bytes (nb, 12).
    Sub-blocks 0..3: low 6 bits of bytes j (scale) and j+4 (min); 4..7: low/high nibble
    of byte j+4 with the top 2 bits of bytes j-4 (scale) / j (min) above them."""
    s = s.astype(np.int64)
    sc = np.empty((s.shape[0], 8), dtype=np.int64)
    mn = np.empty((s.shape[0], 8), dtype=np.int64)
    sc[:, :4] = s[:, 0:4] & 63
    mn[:, :4] = s[:, 4:8] & 63
    sc[:, 4:] = (s[:, 8:12] & 0x0F) | ((s[:, 0:4] >> 6) << 4)
    mn[:, 4:] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    return sc, mn


def _k_nibbles(qs):
    """(nb, 128) bytes -> (nb, 8, 32) 4-bit values: sub-block 2g = low nibbles of group g,
    2g+1 = high nibbles."""
    g = qs.reshape(-1, 4, 32).astype(np.int64)
    return np.stack([g & 0x0F, g >> 4], axis=2).reshape(-1, 8, 32)


def dequantize(raw, ggml_type, n_elems):
    """Dequantize n_elems values of ggml type `ggml_type` from the bytes-like `raw`
    (exactly the right number of bytes) into a 1-D float64 array."""
    if ggml_type not in GGML_TYPES:
        raise RefError(f'unsupported ggml tensor type {ggml_type} '
                       f'(supported: {", ".join(v[0] for v in GGML_TYPES.values())})')
    name, blk, bsz = GGML_TYPES[ggml_type]
    if n_elems % blk:
        raise RefError(f'{name}: {n_elems} elements is not a multiple of the block size {blk}')
    nb = n_elems // blk
    if len(raw) != nb * bsz:
        raise RefError(f'{name}: expected {nb * bsz} bytes, got {len(raw)}')
    if ggml_type == GGML_F32:
        return np.frombuffer(raw, dtype='<f4', count=n_elems).astype(np.float64)
    if ggml_type == GGML_F16:
        return np.frombuffer(raw, dtype='<f2', count=n_elems).astype(np.float64)
    if ggml_type == GGML_BF16:
        # bf16 is the upper 16 bits of an IEEE float32.
        u16 = np.frombuffer(raw, dtype='<u2', count=n_elems)
        return (u16.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    if ggml_type == GGML_Q8_0:
        b = np.frombuffer(raw, dtype=_Q8_0_BLOCK, count=nb)
        out = np.empty((nb, 32), dtype=np.float64)
        np.multiply(b['d'].astype(np.float64)[:, None], b['qs'], out=out, dtype=np.float64)
        return out.reshape(-1)
    if ggml_type == GGML_Q4_0:
        b = np.frombuffer(raw, dtype=_Q4_0_BLOCK, count=nb)
        qs = b['qs']
        q = np.empty((nb, 32), dtype=np.int8)
        q[:, :16] = (qs & 0x0F).astype(np.int8) - 8   # elements 0..15: low nibbles
        q[:, 16:] = (qs >> 4).astype(np.int8) - 8     # elements 16..31: high nibbles
        out = np.empty((nb, 32), dtype=np.float64)
        np.multiply(b['d'].astype(np.float64)[:, None], q, out=out, dtype=np.float64)
        return out.reshape(-1)
    if ggml_type in (GGML_Q4_K, GGML_Q5_K):
        b = np.frombuffer(raw, dtype=_Q4_K_BLOCK if ggml_type == GGML_Q4_K else _Q5_K_BLOCK,
                          count=nb)
        sc, mn = _k_scales_mins(b['scales'])
        q = _k_nibbles(b['qs'])
        if ggml_type == GGML_Q5_K:
            bit = np.arange(8, dtype=np.int64)[None, :, None]
            q = q + 16 * ((b['qh'].astype(np.int64)[:, None, :] >> bit) & 1)
        d = b['d'].astype(np.float64)[:, None, None]
        dmin = b['dmin'].astype(np.float64)[:, None, None]
        return (d * sc[:, :, None] * q - dmin * mn[:, :, None]).reshape(-1)
    if ggml_type == GGML_Q6_K:
        b = np.frombuffer(raw, dtype=_Q6_K_BLOCK, count=nb)
        ql = b['ql'].reshape(-1, 2, 2, 32).astype(np.int64)   # [half, r % 2, l]
        low = np.concatenate([ql & 0x0F, ql >> 4], axis=2)     # [half, r, l]
        qh = b['qh'].reshape(-1, 2, 1, 32).astype(np.int64)
        high = (qh >> (2 * np.arange(4, dtype=np.int64))[None, None, :, None]) & 3
        q = ((low | (high << 4)) - 32).reshape(-1, 16, 16)     # 16 sub-blocks of 16
        d = b['d'].astype(np.float64)[:, None, None]
        return (d * b['scales'].astype(np.float64)[:, :, None] * q).reshape(-1)
    raise AssertionError('unreachable')


class TensorInfo:
    __slots__ = ('name', 'ne', 'type', 'offset')

    def __init__(self, name, ne, ggml_type, offset):
        self.name, self.ne, self.type, self.offset = name, tuple(ne), ggml_type, offset

    @property
    def n_elems(self):
        n = 1
        for x in self.ne:
            n *= x
        return n

    @property
    def np_shape(self):
        # ne[0] is the contiguous (fastest) dimension -> last numpy axis.
        return tuple(reversed(self.ne))

    def row_bytes(self):
        name, blk, bsz = GGML_TYPES[self.type]
        if self.ne[0] % blk:
            raise RefError(f'tensor {self.name}: ne[0]={self.ne[0]} not a multiple of {name} block {blk}')
        return self.ne[0] // blk * bsz


class GGUFFile:
    """Minimal GGUF v2/v3 reader: metadata dict + lazily dequantized tensors."""

    def __init__(self, path):
        self.path = path
        try:
            self._f = open(path, 'rb')
        except OSError as e:
            raise RefError(f'cannot open {path}: {e.strerror}')
        size = os.fstat(self._f.fileno()).st_size
        if size == 0:
            raise RefError(f'{path}: empty file')
        try:
            self._mm = mmap.mmap(self._f.fileno(), 0, access=mmap.ACCESS_READ)
        finally:
            self._f.close()   # the mapping stays valid after the file is closed
        self._buf = memoryview(self._mm)
        self._pos = 0
        try:
            self._parse()
        except (struct.error, IndexError, ValueError, UnicodeDecodeError) as e:
            raise RefError(f'{path}: malformed GGUF ({type(e).__name__}: {e})')

    # -- low-level readers (all little-endian) --
    def _need(self, n):
        if self._pos + n > len(self._buf):
            raise RefError(f'{self.path}: truncated GGUF (need {n} bytes at offset {self._pos})')

    def _unpack(self, fmt):
        n = struct.calcsize(fmt)
        self._need(n)
        v = struct.unpack_from(fmt, self._buf, self._pos)
        self._pos += n
        return v[0] if len(v) == 1 else v

    def _string(self):
        n = self._unpack('<Q')
        self._need(n)
        s = bytes(self._buf[self._pos:self._pos + n]).decode('utf-8')
        self._pos += n
        return s

    def _value(self, vtype, depth=0):
        if vtype in _SCALAR_DTYPES:
            dt = _SCALAR_DTYPES[vtype]
            self._need(dt.itemsize)
            v = np.frombuffer(self._buf, dtype=dt, count=1, offset=self._pos)[0]
            self._pos += dt.itemsize
            if vtype == GGUF_BOOL:
                return bool(v)
            return float(v) if dt.kind == 'f' else int(v)
        if vtype == GGUF_STRING:
            return self._string()
        if vtype == GGUF_ARRAY:
            if depth > 8:
                raise RefError(f'{self.path}: arrays nested too deeply')
            etype, count = self._unpack('<IQ')
            if etype in _SCALAR_DTYPES:
                # Numeric arrays are read in one go (vocab scores etc. can be large).
                dt = _SCALAR_DTYPES[etype]
                self._need(dt.itemsize * count)
                arr = np.frombuffer(self._buf, dtype=dt, count=count, offset=self._pos).copy()
                self._pos += dt.itemsize * count
                return arr.astype(bool) if etype == GGUF_BOOL else arr
            return [self._value(etype, depth + 1) for _ in range(count)]
        raise RefError(f'{self.path}: unknown metadata value type {vtype} at offset {self._pos}')

    def _parse(self):
        self._need(4)
        magic = bytes(self._buf[0:4])
        if magic != b'GGUF':
            raise RefError(f'{self.path}: not a GGUF file (magic {magic!r})')
        self._pos = 4
        self.version = self._unpack('<I')
        if self.version not in (2, 3):
            raise RefError(f'{self.path}: unsupported GGUF version {self.version}')
        n_tensors, n_kv = self._unpack('<QQ')
        self.kv = {}
        for _ in range(n_kv):
            key = self._string()
            vtype = self._unpack('<I')
            self.kv[key] = self._value(vtype)
        self.tensors = {}
        for _ in range(n_tensors):
            name = self._string()
            n_dims = self._unpack('<I')
            if n_dims > 8:
                raise RefError(f'{self.path}: tensor {name} has {n_dims} dims')
            ne = [self._unpack('<Q') for _ in range(n_dims)]
            ttype = self._unpack('<I')
            offset = self._unpack('<Q')
            if name in self.tensors:
                raise RefError(f'{self.path}: duplicate tensor {name}')
            self.tensors[name] = TensorInfo(name, ne, ttype, offset)
        align = int(self.kv.get('general.alignment', 32))
        if align <= 0:
            raise RefError(f'{self.path}: bad general.alignment {align}')
        # The data section starts right after the tensor infos, rounded up to `align`;
        # tensor offsets are relative to it.
        self.data_start = (self._pos + align - 1) // align * align

    def get(self, key, default=None):
        return self.kv.get(key, default)

    def _raw(self, info, start, nbytes):
        a = self.data_start + info.offset + start
        if a + nbytes > len(self._buf):
            raise RefError(f'{self.path}: tensor {info.name} data extends past end of file')
        return self._buf[a:a + nbytes]

    def info(self, name):
        if name not in self.tensors:
            raise RefError(f'{self.path}: missing tensor {name}')
        return self.tensors[name]

    def tensor(self, name):
        """The whole tensor as float64 with numpy shape reversed(ne)."""
        info = self.info(name)
        if info.type not in GGML_TYPES:
            dequantize(b'', info.type, 0)  # raises the "unsupported type" error
        n = info.n_elems
        nbytes = (info.row_bytes() * (n // info.ne[0])) if n else 0
        return dequantize(self._raw(info, 0, nbytes), info.type, n).reshape(info.np_shape)

    def rows(self, name, idx):
        """Selected rows (first numpy axis) of a 2-D tensor, as float64 (len(idx), ne0)."""
        info = self.info(name)
        if len(info.ne) != 2:
            raise RefError(f'tensor {name} is not 2-D')
        if info.type not in GGML_TYPES:
            dequantize(b'', info.type, 0)
        rb = info.row_bytes()
        out = np.empty((len(idx), info.ne[0]), dtype=np.float64)
        for j, r in enumerate(idx):
            if not 0 <= r < info.ne[1]:
                raise RefError(f'row {r} out of range for {name} with {info.ne[1]} rows')
            out[j] = dequantize(self._raw(info, r * rb, rb), info.type, info.ne[0])
        return out

    def row_range(self, name, r0, r1):
        """Rows r0..r1-1 of a 2-D tensor as float64 (r1-r0, ne0)."""
        info = self.info(name)
        rb = info.row_bytes()
        return dequantize(self._raw(info, r0 * rb, (r1 - r0) * rb), info.type,
                          (r1 - r0) * info.ne[0]).reshape(r1 - r0, info.ne[0])


# ----------------------------------------------------------------------------------
# Hugging Face folder (config.json + safetensors), read on its own terms
# ----------------------------------------------------------------------------------

class HFTensor:
    __slots__ = ('name', 'ne', 'dtype', 'buf', 'begin', 'end')

    def __init__(self, name, shape, dtype, buf, begin, end):
        self.name, self.dtype, self.buf, self.begin, self.end = name, dtype, buf, begin, end
        self.ne = tuple(reversed(shape))   # GGUF order, so Model's shape checks apply

    @property
    def n_elems(self):
        n = 1
        for x in self.ne:
            n *= x
        return n

    @property
    def np_shape(self):
        return tuple(reversed(self.ne))


class HFFolder:
    """A Hugging Face model folder with the GGUFFile interface Model uses.

    Weights keep Hugging Face's layout: Wq/Wk rows are NOT permuted, so the model
    rotates with HF's rotate_half pairing (x[i], x[i + d/2]) for every architecture
    (hf_layout).  The hyper-parameters come from config.json under the GGUF key
    names; the tensors under the GGUF tensor names.  Tied embeddings: whichever of
    model.embed_tokens.weight / lm_head.weight is stored serves as both."""

    hf_layout = True
    ARCHS = {'LlamaForCausalLM': 'llama', 'MistralForCausalLM': 'llama',
             'Qwen2ForCausalLM': 'qwen2', 'Qwen3ForCausalLM': 'qwen3'}

    def __init__(self, path):
        import json
        self.path = path
        try:
            with open(os.path.join(path, 'config.json')) as f:
                cfg = json.load(f)
        except (OSError, ValueError) as e:
            raise RefError(f'{path}: cannot read config.json: {e}')
        arch = self.ARCHS.get((cfg.get('architectures') or [None])[0])
        if arch is None:
            raise RefError(f'{path}: unsupported architectures {cfg.get("architectures")}')
        if cfg.get('rope_scaling'):
            raise RefError(f'{path}: rope_scaling is not implemented in the reference')
        n_head = cfg['num_attention_heads']
        self.kv = {
            'general.architecture': arch,
            f'{arch}.embedding_length': cfg['hidden_size'],
            f'{arch}.block_count': cfg['num_hidden_layers'],
            f'{arch}.feed_forward_length': cfg['intermediate_size'],
            f'{arch}.attention.head_count': n_head,
            f'{arch}.attention.head_count_kv': cfg.get('num_key_value_heads') or n_head,
            f'{arch}.attention.layer_norm_rms_epsilon': cfg.get('rms_norm_eps', 1e-6),
            f'{arch}.rope.freq_base': cfg.get('rope_theta', 10000.0),
        }
        if cfg.get('head_dim'):
            self.kv[f'{arch}.attention.key_length'] = cfg['head_dim']
        files = ['model.safetensors']
        if not os.path.exists(os.path.join(path, files[0])):
            with open(os.path.join(path, 'model.safetensors.index.json')) as f:
                files = sorted(set(json.load(f)['weight_map'].values()))
        raw = {}
        self._maps = []
        for fn in files:
            with open(os.path.join(path, fn), 'rb') as f:
                mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            self._maps.append(mm)
            n = struct.unpack_from('<Q', mm, 0)[0]
            header = json.loads(bytes(mm[8:8 + n]).decode('utf-8'))
            for name, e in header.items():
                if name == '__metadata__':
                    continue
                b, t = e['data_offsets']
                raw[name] = HFTensor(name, e['shape'], e['dtype'], mm, 8 + n + b, 8 + n + t)
        if 'model.embed_tokens.weight' not in raw:
            raw['model.embed_tokens.weight'] = raw['lm_head.weight']
        if cfg.get('tie_word_embeddings'):
            raw.pop('lm_head.weight', None)
        names = {'model.embed_tokens.weight': 'token_embd.weight', 'model.norm.weight': 'output_norm.weight',
                 'lm_head.weight': 'output.weight'}
        block = {'input_layernorm.weight': 'attn_norm.weight', 'post_attention_layernorm.weight': 'ffn_norm.weight',
                 'self_attn.q_proj.weight': 'attn_q.weight', 'self_attn.k_proj.weight': 'attn_k.weight',
                 'self_attn.v_proj.weight': 'attn_v.weight', 'self_attn.o_proj.weight': 'attn_output.weight',
                 'self_attn.q_proj.bias': 'attn_q.bias', 'self_attn.k_proj.bias': 'attn_k.bias',
                 'self_attn.v_proj.bias': 'attn_v.bias', 'self_attn.q_norm.weight': 'attn_q_norm.weight',
                 'self_attn.k_norm.weight': 'attn_k_norm.weight', 'mlp.gate_proj.weight': 'ffn_gate.weight',
                 'mlp.up_proj.weight': 'ffn_up.weight', 'mlp.down_proj.weight': 'ffn_down.weight'}
        self.tensors = {}
        for name, t in raw.items():
            if name in names:
                self.tensors[names[name]] = t
                continue
            parts = name.split('.', 3)
            if len(parts) == 4 and parts[0] == 'model' and parts[1] == 'layers' and parts[3] in block:
                self.tensors[f'blk.{parts[2]}.{block[parts[3]]}'] = t
            elif not name.endswith('rotary_emb.inv_freq'):
                raise RefError(f'{path}: unknown tensor {name}')

    def get(self, key, default=None):
        return self.kv.get(key, default)

    def info(self, name):
        if name not in self.tensors:
            raise RefError(f'{self.path}: missing tensor {name}')
        return self.tensors[name]

    def tensor(self, name):
        t = self.info(name)
        raw = np.frombuffer(t.buf, dtype=np.uint8, count=t.end - t.begin, offset=t.begin)
        if t.dtype == 'F32':
            x = raw.view('<f4')
        elif t.dtype == 'F16':
            x = raw.view('<f2')
        elif t.dtype == 'BF16':
            x = (raw.view('<u2').astype(np.uint32) << 16).view('<f4')
        else:
            raise RefError(f'tensor {name}: dtype {t.dtype} is not supported')
        return x.astype(np.float64).reshape(t.np_shape)

    def rows(self, name, idx):
        return self.tensor(name)[np.asarray(idx, dtype=np.int64)]

    def row_range(self, name, r0, r1):
        return self.tensor(name)[r0:r1]


def open_model_file(path):
    """A GGUF file, or a Hugging Face folder when path is a directory."""
    return HFFolder(path) if os.path.isdir(path) else GGUFFile(path)


# ----------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------

def rms_norm(x, w, eps):
    # x / sqrt(mean(x^2) + eps) * w, over the last axis.
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def silu(z):
    # z * sigmoid(z), written without overflow for very negative z.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, z / (1.0 + e), z * e / (1.0 + e))


class Model:
    ARCHS = ('llama', 'qwen2', 'qwen3')

    def __init__(self, path, cache_weights=False):
        self.gguf = g = open_model_file(path)
        arch = g.get('general.architecture')
        if arch not in self.ARCHS:
            raise RefError(f'unsupported general.architecture {arch!r} (supported: {", ".join(self.ARCHS)})')
        self.arch = arch

        def hp(key, default=None, required=False):
            full = f'{arch}.{key}'
            if full in g.kv:
                return g.kv[full]
            if required:
                raise RefError(f'{path}: missing metadata key {full}')
            return default

        self.n_embd = int(hp('embedding_length', required=True))
        self.n_layer = int(hp('block_count', required=True))
        self.n_ff = int(hp('feed_forward_length', required=True))
        self.n_head = int(hp('attention.head_count', required=True))
        self.n_head_kv = int(hp('attention.head_count_kv', self.n_head))
        self.eps = float(hp('attention.layer_norm_rms_epsilon', required=True))
        self.head_dim = int(hp('attention.key_length', self.n_embd // self.n_head))
        self.head_dim_v = int(hp('attention.value_length', self.head_dim))
        self.rope_base = float(hp('rope.freq_base', 10000.0))
        self.rope_dim = int(hp('rope.dimension_count', self.head_dim))
        if self.n_head <= 0 or self.n_head_kv <= 0 or self.n_head % self.n_head_kv:
            raise RefError(f'bad head counts n_head={self.n_head} n_head_kv={self.n_head_kv}')
        if self.rope_dim % 2 or not 0 < self.rope_dim <= self.head_dim:
            raise RefError(f'bad rope dimension {self.rope_dim} for head_dim {self.head_dim}')

        # Linear RoPE scaling: positions are divided by the factor.
        self.rope_pos_scale = 1.0
        stype = hp('rope.scaling.type')
        if stype is not None and stype != 'none':
            if stype != 'linear':
                raise RefError(f'unsupported rope scaling type {stype!r}')
            factor = float(hp('rope.scaling.factor', 1.0))
            if factor <= 0:
                raise RefError(f'bad rope scaling factor {factor}')
            self.rope_pos_scale = 1.0 / factor
        # Optional per-frequency divisors (how GGUF stores Llama 3.x rope scaling).
        self.rope_freq_factors = None
        if 'rope_freqs.weight' in g.tensors:
            ff = g.tensor('rope_freqs.weight').reshape(-1)
            if ff.size != self.rope_dim // 2:
                raise RefError(f'rope_freqs.weight has {ff.size} entries, expected {self.rope_dim // 2}')
            self.rope_freq_factors = ff
        # "llama" GGUFs: adjacent pairs (Wq/Wk rows were permuted by the converter);
        # "qwen2" / "qwen3": NEOX pairs (x[i], x[i + rope_dim/2]).
        # A Hugging Face folder keeps HF's layout: rotate_half (NEOX) pairs for all.
        self.rope_neox = arch in ('qwen2', 'qwen3') or getattr(g, 'hf_layout', False)
        # Qwen3: per-head RMSNorm of Q and K before RoPE (weights required).
        self.qk_norm = arch == 'qwen3'

        emb = g.info('token_embd.weight')
        if len(emb.ne) != 2 or emb.ne[0] != self.n_embd:
            raise RefError(f'token_embd.weight has ne={list(emb.ne)}, expected [{self.n_embd}, n_vocab]')
        self.n_vocab = emb.ne[1]
        self.output_name = 'output.weight' if 'output.weight' in g.tensors else 'token_embd.weight'
        out = g.info(self.output_name)
        if tuple(out.ne) != (self.n_embd, self.n_vocab):
            raise RefError(f'{self.output_name} has ne={list(out.ne)}, expected [{self.n_embd}, {self.n_vocab}]')

        # Check every tensor shape up front (numpy shapes, i.e. (out, in) for matrices).
        qd, kd, vd = self.n_head * self.head_dim, self.n_head_kv * self.head_dim, self.n_head_kv * self.head_dim_v
        self._shapes = {
            'attn_norm.weight': (self.n_embd,),
            'attn_q.weight': (qd, self.n_embd), 'attn_q.bias': (qd,),
            'attn_k.weight': (kd, self.n_embd), 'attn_k.bias': (kd,),
            'attn_v.weight': (vd, self.n_embd), 'attn_v.bias': (vd,),
            'attn_output.weight': (self.n_embd, self.n_head * self.head_dim_v),
            'ffn_norm.weight': (self.n_embd,),
            'ffn_gate.weight': (self.n_ff, self.n_embd),
            'ffn_up.weight': (self.n_ff, self.n_embd),
            'ffn_down.weight': (self.n_embd, self.n_ff),
        }
        self._optional = {'attn_q.bias', 'attn_k.bias', 'attn_v.bias'}
        if self.qk_norm:
            self._shapes['attn_q_norm.weight'] = (self.head_dim,)
            self._shapes['attn_k_norm.weight'] = (self.head_dim,)
        for il in range(self.n_layer):
            for suffix, shape in self._shapes.items():
                name = f'blk.{il}.{suffix}'
                if name not in g.tensors:
                    if suffix in self._optional:
                        continue
                    raise RefError(f'{path}: missing tensor {name}')
                got = g.tensors[name].np_shape
                if got != shape:
                    raise RefError(f'tensor {name}: numpy shape {got}, expected {shape}')
        got = g.info('output_norm.weight').np_shape
        if got != (self.n_embd,):
            raise RefError(f'tensor output_norm.weight: shape {got}, expected ({self.n_embd},)')

        self.cache_weights = cache_weights
        self._cache = {}
        self.output_norm = g.tensor('output_norm.weight')

    def layer_weight(self, il, suffix):
        """Weight `blk.{il}.{suffix}` as float64 (None for an absent optional bias)."""
        name = f'blk.{il}.{suffix}'
        if name in self._cache:
            return self._cache[name]
        w = self.gguf.tensor(name) if name in self.gguf.tensors else None
        if self.cache_weights:
            self._cache[name] = w
        return w

    def embed(self, tokens):
        return self.gguf.rows('token_embd.weight', tokens)

    def output_logits(self, x, chunk=8192):
        """logits = Wout @ x for x (T, n_embd); Wout is dequantized in row chunks
        unless cached, to bound memory for large vocabularies."""
        if self.cache_weights:
            if 'output' not in self._cache:
                self._cache['output'] = self.gguf.tensor(self.output_name)
            return x @ self._cache['output'].T
        out = np.empty((x.shape[0], self.n_vocab), dtype=np.float64)
        for r0 in range(0, self.n_vocab, chunk):
            r1 = min(r0 + chunk, self.n_vocab)
            out[:, r0:r1] = x @ self.gguf.row_range(self.output_name, r0, r1).T
        return out

    def rope(self, x, pos):
        """Rotate x of shape (T, H, head_dim) at positions pos (T,) in place-free style.
        Only the first rope_dim dims of each head rotate; the rest pass through."""
        half = self.rope_dim // 2
        i = np.arange(half, dtype=np.float64)
        inv_freq = self.rope_base ** (-2.0 * i / self.rope_dim)          # base^(-2i/rope_dim)
        if self.rope_freq_factors is not None:
            inv_freq = inv_freq / self.rope_freq_factors
        theta = (np.asarray(pos, dtype=np.float64) * self.rope_pos_scale)[:, None] * inv_freq[None, :]
        cos = np.cos(theta)[:, None, :]   # (T, 1, half), broadcast over heads
        sin = np.sin(theta)[:, None, :]
        out = x.copy()
        if self.rope_neox:
            # NEOX / HF rotate_half: pair i is (x[i], x[i + half]).
            a, b = x[..., :half], x[..., half:self.rope_dim]
            out[..., :half] = a * cos - b * sin
            out[..., half:self.rope_dim] = a * sin + b * cos
        else:
            # ggml "normal" rope (llama GGUFs): pair i is (x[2i], x[2i+1]).
            a, b = x[..., 0:self.rope_dim:2], x[..., 1:self.rope_dim:2]
            out[..., 0:self.rope_dim:2] = a * cos - b * sin
            out[..., 1:self.rope_dim:2] = a * sin + b * cos
        return out

    def forward(self, tokens, pos_start=0, kv_cache=None, last_only=False):
        """Forward pass of a chunk of tokens (causal among themselves and attending to
        everything already in kv_cache).  Returns logits (T, n_vocab), or (1, n_vocab)
        for the last token only with last_only.

        kv_cache: None, or a dict {'k': [per-layer (S, n_kv, hd)], 'v': [...], 'n': S}
        that is extended in place.  pos_start: RoPE position of tokens[0]."""
        tokens = [int(t) for t in tokens]
        for t in tokens:
            if not 0 <= t < self.n_vocab:
                raise RefError(f'token id {t} out of range [0, {self.n_vocab})')
        T = len(tokens)
        if T == 0:
            raise RefError('no tokens')
        pos = pos_start + np.arange(T)
        nh, nkv, hd, hdv = self.n_head, self.n_head_kv, self.head_dim, self.head_dim_v
        group = nh // nkv
        scale = 1.0 / np.sqrt(hd)
        n_past = kv_cache['n'] if kv_cache is not None else 0
        S = n_past + T
        # Causal mask over the whole context: query t (absolute index n_past + t) may
        # attend to keys s <= n_past + t.
        allowed = np.arange(S)[None, :] <= (n_past + np.arange(T))[:, None]    # (T, S)

        x = self.embed(tokens)                                   # (T, n_embd)
        for il in range(self.n_layer):
            W = lambda s: self.layer_weight(il, s)  # noqa: E731
            h = rms_norm(x, W('attn_norm.weight'), self.eps)
            q = h @ W('attn_q.weight').T
            k = h @ W('attn_k.weight').T
            v = h @ W('attn_v.weight').T
            for t, name in ((q, 'attn_q.bias'), (k, 'attn_k.bias'), (v, 'attn_v.bias')):
                b = W(name)
                if b is not None:
                    t += b
            q = q.reshape(T, nh, hd)
            k = k.reshape(T, nkv, hd)
            if self.qk_norm:
                # rms_norm works over the last axis: each head on its own.
                q = rms_norm(q, W('attn_q_norm.weight'), self.eps)
                k = rms_norm(k, W('attn_k_norm.weight'), self.eps)
            q = self.rope(q, pos)
            k = self.rope(k, pos)
            v = v.reshape(T, nkv, hdv)
            if kv_cache is not None:
                if il < len(kv_cache['k']):
                    k = np.concatenate([kv_cache['k'][il], k], axis=0)
                    v = np.concatenate([kv_cache['v'][il], v], axis=0)
                    kv_cache['k'][il], kv_cache['v'][il] = k, v
                else:
                    kv_cache['k'].append(k)
                    kv_cache['v'].append(v)
            # GQA: query head i uses KV head i // group.  Reshaping the query heads as
            # (nkv, group) makes head i = kv*group + g, i.e. kv = i // group.
            qg = q.reshape(T, nkv, group, hd).transpose(1, 2, 0, 3)     # (nkv, group, T, hd)
            kt = k.transpose(1, 2, 0)[:, None, :, :]                     # (nkv, 1, hd, S)
            scores = (qg @ kt) * scale                                   # (nkv, group, T, S)
            scores = np.where(allowed, scores, -np.inf)
            scores -= scores.max(axis=-1, keepdims=True)
            p = np.exp(scores)
            p /= p.sum(axis=-1, keepdims=True)
            vt = v.transpose(1, 0, 2)[:, None, :, :]                     # (nkv, 1, S, hdv)
            attn = p @ vt                                                # (nkv, group, T, hdv)
            attn = attn.transpose(2, 0, 1, 3).reshape(T, nh * hdv)       # heads concatenated in order
            x = x + attn @ W('attn_output.weight').T

            h = rms_norm(x, W('ffn_norm.weight'), self.eps)
            ff = silu(h @ W('ffn_gate.weight').T) * (h @ W('ffn_up.weight').T)
            x = x + ff @ W('ffn_down.weight').T
        if kv_cache is not None:
            kv_cache['n'] = S
        if last_only:
            x = x[-1:]
        x = rms_norm(x, self.output_norm, self.eps)
        return self.output_logits(x)

    def new_kv_cache(self):
        return {'k': [], 'v': [], 'n': 0}

    def generate(self, prompt, n_new):
        """Greedy decoding with a KV cache; returns the n_new generated ids."""
        if n_new <= 0:
            return []
        cache = self.new_kv_cache()
        logits = self.forward(prompt, 0, cache, last_only=True)
        out = []
        while True:
            tok = int(np.argmax(logits[-1]))   # first (lowest) index among ties
            out.append(tok)
            if len(out) == n_new:
                return out
            logits = self.forward([tok], cache['n'], cache, last_only=True)


# ----------------------------------------------------------------------------------
# Tokenizer (SentencePiece-style "llama" vocab, as llama.cpp's SPM tokenizer)
# ----------------------------------------------------------------------------------

TOKEN_NORMAL, TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_USER_DEFINED, TOKEN_UNUSED, TOKEN_BYTE = 1, 2, 3, 4, 5, 6
SPM_SPACE = '\u2581'  # '▁'


def _gpt2_byte_decoder():
    # Inverse of GPT-2's bytes_to_unicode(): printable bytes map to themselves, the
    # others to U+0100 + n in order.
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


class Tokenizer:
    def __init__(self, gguf):
        kv = gguf.kv
        self.model = kv.get('tokenizer.ggml.model')
        self.tokens = kv.get('tokenizer.ggml.tokens')
        if self.tokens is None:
            raise RefError('GGUF has no tokenizer.ggml.tokens')
        n = len(self.tokens)
        scores = kv.get('tokenizer.ggml.scores')
        self.scores = [float(s) for s in scores] if scores is not None else [0.0] * n
        types = kv.get('tokenizer.ggml.token_type')
        self.types = [int(t) for t in types] if types is not None else [TOKEN_NORMAL] * n
        self.bos = kv.get('tokenizer.ggml.bos_token_id')
        self.eos = kv.get('tokenizer.ggml.eos_token_id')
        self.unk = kv.get('tokenizer.ggml.unknown_token_id')
        self.add_bos = bool(kv.get('tokenizer.ggml.add_bos_token', True))
        self.add_space_prefix = bool(kv.get('tokenizer.ggml.add_space_prefix', True))
        # Like llama.cpp's token_to_id map: a duplicated string maps to its LAST id.
        self.token_to_id = {}
        for i, s in enumerate(self.tokens):
            self.token_to_id[s] = i

    def _byte_token(self, b):
        tid = self.token_to_id.get(f'<0x{b:02X}>')
        if tid is None:
            tid = self.token_to_id.get(chr(b))  # llama.cpp's fallback: the byte as a string
        if tid is None:
            tid = self.unk
        if tid is None:
            raise RefError(f'cannot encode byte 0x{b:02X}: no byte token and no unknown token')
        return tid

    def encode(self, text, add_bos=None):
        if self.model != 'llama':
            raise RefError(f'tokenizing is only implemented for tokenizer.ggml.model "llama", '
                           f'this vocab is {self.model!r}')
        add_bos = self.add_bos if add_bos is None else add_bos
        ids = []
        if add_bos:
            if self.bos is None:
                raise RefError('add_bos requested but the vocab has no bos token')
            ids.append(int(self.bos))
        if text == '':
            return ids
        if self.add_space_prefix:
            text = ' ' + text
        text = text.replace(' ', SPM_SPACE)
        # Symbols are UTF-8 characters; a doubly linked list like llama.cpp's.
        sym = list(text)
        prev = list(range(-1, len(sym) - 1))
        nxt = list(range(1, len(sym) + 1))
        nxt[-1] = -1
        import heapq
        heap = []

        def try_add(left, right):
            if left == -1 or right == -1:
                return
            s = sym[left] + sym[right]
            tid = self.token_to_id.get(s)
            if tid is None:
                return
            # Highest score first; ties -> leftmost (smallest left symbol index).
            heapq.heappush(heap, (-self.scores[tid], left, right, len(s)))

        for i in range(1, len(sym)):
            try_add(i - 1, i)
        while heap:
            _, left, right, size = heapq.heappop(heap)
            # Skip stale bigrams whose symbols have since been merged.
            if sym[left] == '' or sym[right] == '' or len(sym[left]) + len(sym[right]) != size:
                continue
            if nxt[left] != right:
                continue
            sym[left] = sym[left] + sym[right]
            sym[right] = ''
            nxt[left] = nxt[right]
            if nxt[right] != -1:
                prev[nxt[right]] = left
            try_add(prev[left], left)
            try_add(left, nxt[left])
        i = 0
        while i != -1:
            s = sym[i]
            tid = self.token_to_id.get(s)
            if tid is not None:
                ids.append(tid)
            else:
                ids.extend(self._byte_token(b) for b in s.encode('utf-8'))
            i = nxt[i]
        return ids

    def decode(self, ids):
        """Token ids -> text: '▁' -> ' ', <0xNN> -> raw byte, control tokens skipped,
        the leading space right after BOS dropped; UTF-8 with errors='replace'."""
        out = bytearray()
        gpt2 = _gpt2_byte_decoder() if self.model == 'gpt2' else None
        after_bos = False
        for n, t in enumerate(ids):
            t = int(t)
            if not 0 <= t < len(self.tokens):
                raise RefError(f'token id {t} out of range')
            if n == 0 and self.bos is not None and t == int(self.bos):
                after_bos = True
            ttype = self.types[t]
            s = self.tokens[t]
            if ttype == TOKEN_CONTROL:
                continue
            if gpt2 is not None:
                piece = bytes(gpt2.get(c, 0x3F) for c in s) if ttype != TOKEN_USER_DEFINED else s.encode('utf-8')
            elif ttype == TOKEN_BYTE and len(s) == 6 and s.startswith('<0x') and s.endswith('>'):
                piece = bytes([int(s[3:5], 16)])
            else:
                piece = s.replace(SPM_SPACE, ' ').encode('utf-8')
            if after_bos and self.model == 'llama' and piece.startswith(b' '):
                piece = piece[1:]   # SentencePiece: drop the space prefix once, after BOS
            after_bos = False
            out += piece
        return out.decode('utf-8', errors='replace')


# ----------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message):
        sys.stderr.write(f'{self.prog}: error: {message}\n')
        sys.exit(1)


def parse_ids(s):
    parts = s.replace(',', ' ').split()
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise RefError(f'bad token id list {s!r}')


# Dequantized weights are kept in memory for generation when they fit under this.
CACHE_LIMIT_BYTES = int(os.environ.get('LLAMA_REF_CACHE_BYTES', str(4 << 30)))


def main(argv=None):
    ap = _Parser(prog='llama_ref.py', description='float64 numpy reference for Llama/Qwen2/Qwen3 GGUF models')
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('logits', help='write float64 logits of every position')
    p.add_argument('--model', required=True)
    p.add_argument('--tokens', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--positions-start', type=int, default=0)
    p = sub.add_parser('generate', help='greedy decoding')
    p.add_argument('--model', required=True)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--prompt')
    src.add_argument('--tokens')
    p.add_argument('-n', type=int, required=True)
    p.add_argument('--print-prompt-ids', action='store_true')
    p.add_argument('--text', action='store_true')
    p = sub.add_parser('tokenize', help='print token ids of TEXT')
    p.add_argument('--model', required=True)
    p.add_argument('--no-bos', action='store_true')
    p.add_argument('text')
    args = ap.parse_args(argv)

    try:
        if args.cmd == 'logits':
            model = Model(args.model)
            tokens = parse_ids(args.tokens)
            if args.positions_start < 0:
                raise RefError('--positions-start must be >= 0')
            logits = model.forward(tokens, args.positions_start)
            try:
                logits.astype('<f8').tofile(args.out)
            except OSError as e:
                raise RefError(f'cannot write {args.out}: {e.strerror}')
        elif args.cmd == 'generate':
            model = Model(args.model)
            total = sum(t.n_elems for t in model.gguf.tensors.values()) * 8
            model.cache_weights = total <= CACHE_LIMIT_BYTES
            tok = None
            if args.prompt is not None:
                tok = Tokenizer(model.gguf)
                prompt = tok.encode(args.prompt)
            else:
                prompt = parse_ids(args.tokens)
            if not prompt:
                raise RefError('empty prompt')
            if args.n < 0:
                raise RefError('-n must be >= 0')
            gen = model.generate(prompt, args.n)
            lines = []
            if args.print_prompt_ids:
                lines.append(' '.join(map(str, prompt)))
            lines.append(' '.join(map(str, gen)))
            if args.text:
                tok = tok or Tokenizer(model.gguf)
                lines.append(tok.decode(prompt + gen))
            sys.stdout.write('\n'.join(lines) + '\n')
        elif args.cmd == 'tokenize':
            tok = Tokenizer(GGUFFile(args.model))
            print(' '.join(map(str, tok.encode(args.text, add_bos=False if args.no_bos else None))))
    except RefError as e:
        sys.stderr.write(f'llama_ref.py: error: {e}\n')
        return 1
    except MemoryError:
        sys.stderr.write('llama_ref.py: error: out of memory\n')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
