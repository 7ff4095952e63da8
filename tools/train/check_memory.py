#!/usr/bin/env python3
"""Identity check of the memory path: with every layer a memory layer and every token kept
(tokens_per_head = reference_length = the reference's length), one reference in parallel
positions equals running [prefix, reference, context] as one sequence."""
import torch

from memory import memory_batch
from model import Config, Llama


def main():
    torch.manual_seed(0)
    n = 12
    cfg = Config(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, head_dim=8, memory_layers=[0, 1], tokens_per_head=n, reference_length=n,
                 memories_per_retrieval=1, retrieval_interval=8)
    model = Llama(cfg).eval()
    prefix, ref, ctx = [0, 5, 6], torch.randint(2, 64, (n,)).tolist(), [0] + torch.randint(2, 64, (7,)).tolist()
    ids, pos, mem, kept = memory_batch(model, prefix, [ctx], [[[ref]]])
    with torch.no_grad():
        a = model(ids, pos, mem)[0, len(prefix):]
        b = model(torch.tensor([prefix + ref + ctx]))[0, len(prefix) + n:]
    err = (a - b).abs().max().item()
    assert sorted(kept[0][0][0, 0, 0].tolist()) == list(range(3, 3 + n)), kept[0][0]
    print('max |memory path - full sequence| =', err)
    assert err < 1e-4


if __name__ == '__main__':
    main()
