#!/usr/bin/env python3
"""Exports a checkpoint in HF format into public/models/memory3-tiny/: config.json
(LlamaForCausalLM + the `memory3` policy block), model.safetensors (f16, written here: Debian has
no python3-safetensors), tokenizer.json, tokenizer_config.json.
Usage: export.py CKPT [--out DIR]"""
import argparse, json, os, shutil, struct

import torch

from data import CORPUS
from model import Config, Llama

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
OUT = os.path.join(ROOT, 'public', 'models', 'memory3-tiny')
PREFIX_TEXT = '<s>Reference:'


def load(path):
    ck = torch.load(path)
    model = Llama(Config(**ck['cfg']))
    model.load_state_dict(ck['model'])
    model.eval()
    return model, ck


def load_exported(folder=OUT):
    """A shipped model folder (config.json with its memory3 block + f16 model.safetensors) as a Llama
    computing in f32: what the engine runs, read back without the training checkpoint."""
    hf = json.load(open(os.path.join(folder, 'config.json')))
    m3 = hf['memory3']
    cfg = Config(vocab_size=hf['vocab_size'], hidden_size=hf['hidden_size'], intermediate_size=hf['intermediate_size'],
                 num_hidden_layers=hf['num_hidden_layers'], num_attention_heads=hf['num_attention_heads'],
                 num_key_value_heads=hf['num_key_value_heads'], head_dim=hf['head_dim'], rms_norm_eps=hf['rms_norm_eps'],
                 rope_theta=hf['rope_theta'], max_position_embeddings=hf['max_position_embeddings'],
                 memory_layers=m3['memory_layers'], tokens_per_head=m3['tokens_per_head'],
                 reference_length=m3['reference_length'], memories_per_retrieval=m3['memories_per_retrieval'],
                 retrieval_interval=m3['retrieval_interval'], min_relative_score=m3.get('min_relative_score'))
    model = Llama(cfg)
    with open(os.path.join(folder, 'model.safetensors'), 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    targets = hf_tensors(model)   # detached views of the parameters
    names = set(header) - {'__metadata__'}
    if names != set(targets):
        raise ValueError(f'{folder}: tensors differ from the model: {sorted(names ^ set(targets))[:4]}')
    with torch.no_grad():
        for name, t in targets.items():
            h = header[name]
            a, b = h['data_offsets']
            if h['dtype'] != 'F16' or list(t.shape) != h['shape']:
                raise ValueError(f'{name}: {h["dtype"]} {h["shape"]}, expected F16 {list(t.shape)}')
            t.copy_(torch.frombuffer(bytearray(data[a:b]), dtype=torch.float16).reshape(h['shape']).float())
    model.eval()
    return model


def hf_tensors(model):
    """HF Llama names → tensors (tied embeddings: no lm_head)."""
    out = {'model.embed_tokens.weight': model.embed_tokens.weight, 'model.norm.weight': model.norm.weight}
    for i, b in enumerate(model.layers):
        p = f'model.layers.{i}.'
        out[p + 'input_layernorm.weight'] = b.input_layernorm.weight
        out[p + 'post_attention_layernorm.weight'] = b.post_attention_layernorm.weight
        for n in ['q_proj', 'k_proj', 'v_proj', 'o_proj']:
            out[p + f'self_attn.{n}.weight'] = getattr(b.self_attn, n).weight
        for n in ['gate_proj', 'up_proj', 'down_proj']:
            out[p + f'mlp.{n}.weight'] = getattr(b, n).weight
    return {k: v.detach() for k, v in out.items()}


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].to(torch.float16).contiguous()
        data = t.numpy().tobytes()
        header[name] = {'dtype': 'F16', 'shape': list(t.shape), 'data_offsets': [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def round_to_f16(model):
    """The exported weights, as the engine sees them (f16), for reference outputs."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.float16).to(torch.float32))
    return model


def hf_config(cfg):
    return {
        'architectures': ['LlamaForCausalLM'], 'model_type': 'llama',
        'hidden_size': cfg.hidden_size, 'intermediate_size': cfg.intermediate_size,
        'num_hidden_layers': cfg.num_hidden_layers, 'num_attention_heads': cfg.num_attention_heads,
        'num_key_value_heads': cfg.num_key_value_heads, 'head_dim': cfg.head_dim,
        'rms_norm_eps': cfg.rms_norm_eps, 'rope_theta': cfg.rope_theta, 'rope_scaling': None,
        'max_position_embeddings': cfg.max_position_embeddings, 'tie_word_embeddings': True,
        'vocab_size': cfg.vocab_size, 'hidden_act': 'silu', 'attention_bias': False, 'mlp_bias': False,
        'bos_token_id': 0, 'eos_token_id': 1, 'torch_dtype': 'float16',
        'memory3': {
            'memory_layers': list(cfg.memory_layers), 'tokens_per_head': cfg.tokens_per_head,
            'reference_length': cfg.reference_length, 'memories_per_retrieval': cfg.memories_per_retrieval,
            'retrieval_interval': cfg.retrieval_interval, 'reference_prefix': PREFIX_TEXT,
            'min_relative_score': cfg.min_relative_score,
        },
    }


def export(ckpt, out=OUT):
    model, ck = load(ckpt)
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, 'model.safetensors'), hf_tensors(model))
    json.dump(hf_config(model.cfg), open(os.path.join(out, 'config.json'), 'w'), indent=1)
    for f in ['tokenizer.json', 'tokenizer_config.json']:
        shutil.copy(os.path.join(CORPUS, 'tokenizer', f), os.path.join(out, f))
    return model


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('ckpt')
    ap.add_argument('--out', default=OUT)
    a = ap.parse_args()
    export(a.ckpt, a.out)
    print('exported to', a.out)
