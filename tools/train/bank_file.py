"""Reads the engine's bank export format (src/memory/store/container.ts, format version 1) in
Python, independently of the engine: frames with CRC-32 checks, the header's meta, references and
their records, decoded from the f32 / f16 / int8 / int4 codecs (src/memory/codec/scalar.ts) into
keys and values shaped (memLayers, memHeads, tokensPerHead, headDim) and the kept positions.
PQ-coded banks are refused (their codebooks would need the engine's serialization)."""
import json, struct, zlib

import numpy as np

MAGIC = b'\x89M3BANK\n'
HEADER, BLOB, REFERENCE, RECORD, VECTOR, DOCUMENT, TRAILER = range(1, 8)


class BankFileError(ValueError):
    pass


def _frames(data):
    if data[:8] != MAGIC:
        raise BankFileError('not a memory3 bank file (magic)')
    if struct.unpack_from('<I', data, 8)[0] != 1:
        raise BankFileError('unsupported bank format version')
    at = 12
    while at < len(data):
        if at + 5 > len(data):
            raise BankFileError(f'truncated frame head at byte {at}')
        kind, length = data[at], struct.unpack_from('<I', data, at + 1)[0]
        end = at + 5 + length
        if end + 4 > len(data):
            raise BankFileError(f'truncated frame at byte {at}')
        if zlib.crc32(data[at:end]) != struct.unpack_from('<I', data, end)[0]:
            raise BankFileError(f'frame CRC mismatch at byte {at}')
        if kind == TRAILER and zlib.crc32(data[:at]) != struct.unpack_from('<I', data, at + 5 + 20)[0]:
            raise BankFileError('file CRC mismatch')
        yield kind, data[at + 5:end]
        at = end + 4


def bytes_per_vector(codec, dim):
    if codec not in ('f32', 'f16', 'int8', 'int4'):
        raise BankFileError(f'codec {codec} is not readable here')
    return {'f32': 4 * dim, 'f16': 2 * dim, 'int8': 2 + dim, 'int4': 2 + (dim + 1) // 2}[codec]


def _decode(codec, raw, count, dim):
    """count vectors of dim values from raw bytes → float32 (count, dim)."""
    if codec == 'f32':
        return np.frombuffer(raw, '<f4', count * dim).reshape(count, dim).copy()
    if codec == 'f16':
        return np.frombuffer(raw, '<f2', count * dim).astype(np.float32).reshape(count, dim)
    if codec in ('int8', 'int4'):
        bpv = bytes_per_vector(codec, dim)
        rows = np.frombuffer(raw, np.uint8, count * bpv).reshape(count, bpv)
        scale = rows[:, :2].copy().view('<f2').astype(np.float32)       # (count, 1)
        if codec == 'int8':
            q = rows[:, 2:].view(np.int8).astype(np.float32)
        else:
            nib = rows[:, 2:]
            q = np.stack([nib & 15, nib >> 4], -1).reshape(count, -1)[:, :dim].astype(np.float32) - 8
        return q * scale
    raise BankFileError(f'codec {codec} is not readable here')


def read_bank(path):
    """→ meta (dict), references (list of dicts), keys, values (R, mL, G, K, d) float32, positions (R, mL, G, K)."""
    data = open(path, 'rb').read()
    meta, refs, recs, trailer = None, [], {}, None
    for kind, body in _frames(data):
        if kind == HEADER:
            meta = json.loads(body)['meta']
        elif kind == REFERENCE:
            refs.append(json.loads(body))
        elif kind == RECORD:
            rid, _checksum, n = struct.unpack_from('<3I', body)
            recs[rid] = (bytes(body[12:12 + n]), np.frombuffer(body[12 + n:], '<u2').astype(np.int64))
        elif kind == TRAILER:
            trailer = struct.unpack_from('<5I', body)
    if meta is None or trailer is None:
        raise BankFileError('a bank file needs a header and a trailer')
    if trailer[1] != len(refs) or trailer[2] != len(recs):
        raise BankFileError('the trailer counts disagree with the frames')
    sh, codec = meta['shape'], meta['codec']
    mL, G, K, d = sh['memLayers'], sh['memHeads'], sh['tokensPerHead'], sh['headDim']
    n = mL * G * K
    keys = np.zeros((len(refs), mL, G, K, d), np.float32)
    values = np.zeros_like(keys)
    positions = np.zeros((len(refs), mL, G, K), np.int64)
    kbytes = n * bytes_per_vector(codec['keys'], d)
    for i, r in enumerate(refs):
        payload, pos = recs[r['id']]
        keys[i] = _decode(codec['keys'], payload[:kbytes], n, d).reshape(mL, G, K, d)
        values[i] = _decode(codec['values'], payload[kbytes:], n, d).reshape(mL, G, K, d)
        positions[i] = pos.reshape(mL, G, K)
    return meta, refs, keys, values, positions

