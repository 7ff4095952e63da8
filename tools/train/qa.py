"""Question answering from explicit memory, scored as the engine bench scores it (bench/qa.mjs):
a chat question, greedy decoding until `</s>` or a newline (the reply is cut there), exact match when the reply starts with
the answer (case-folded, surrounding spaces and final full stop dropped, the answer followed by a
non-alphanumeric character or the end). Modes: 'none' (the question alone), 'memory' (the engine's
retrieval for the prompt chunk, the first decoded chunk reusing its memories) and 'rag' (the same
references' text in the user message, one per line, before the question)."""
import re

import torch

from data import BOS, EOS
from memory import memory_batch
from tasks import chat_prompt, qa_query

NEWLINE = None


def normalize(s):
    return re.sub(r'\s+', ' ', s).strip().lower()


def exact_match(reply, answer):
    r, a = normalize(reply), normalize(answer).rstrip('.')
    return r.startswith(a) and (len(r) == len(a) or not r[len(a)].isalnum())


@torch.no_grad()
def generate(model, bpe, prompt, pre=None, refs=None, max_new=16, encode=None, answer=None):
    """Greedy reply ids to `prompt` ids; with `refs` (reference id lists, possibly none: the memory
    layout of prefix and shifted positions stays, as in the engine) spliced as memories; `encode`:
    memory_batch's (PyTorch's own encoding by default, evaluate_bank.py passes the shipped records).
    With `answer`, decoding stops as soon as the reply can no longer match it (exact match is then
    decided; the reply returned is that far)."""
    global NEWLINE
    if NEWLINE is None:
        NEWLINE = {i for i in bpe.vocab.values() if '\n' in bpe.decode([i])}
    cfg, out = model.cfg, []
    for _ in range(max_new):
        ctx = prompt + out
        if refs is None:
            lo = model(torch.tensor([ctx]))[0, -1]
        else:
            chunks = (len(ctx) + cfg.retrieval_interval - 1) // cfg.retrieval_interval
            seq, pos, mem, _ = memory_batch(model, pre, [ctx], [[refs] * chunks], encode=encode)
            lo = model(seq, pos, mem)[0, -1]
        t = int(lo.argmax())
        if t == EOS:
            break
        out.append(t)
        if t in NEWLINE:   # the reply ends at the newline (reply_text cuts there, as the engine's stop string)
            break
        if answer is not None and decided(bpe.decode(out), answer):
            break
    return out


def decided(reply, answer):
    """True once `reply` (a prefix of the whole reply) settles exact_match against `answer`."""
    r, a = normalize(reply), normalize(answer).rstrip('.')
    if len(r) <= len(a):
        return not a.startswith(r)          # diverged already
    return True                             # the answer's length is passed: the next character decides


def reply_text(bpe, ids):
    """The reply's text up to its first newline (the engine bench stops at '\\n')."""
    return bpe.decode(ids).split('\n')[0]


def retrieve(bank, bpe, prompt, n, cut):
    return bank.retrieve(qa_query(bpe, prompt), n, cut)


def ask(model, bpe, bank, question, mode, pre, n=None, cut=None, max_new=16, answer=None):
    """(reply text, reference indices used) for one question in one mode."""
    n = model.cfg.memories_per_retrieval if n is None else n
    prompt = chat_prompt(bpe, question)
    if mode == 'none':
        return reply_text(bpe, generate(model, bpe, prompt, max_new=max_new, answer=answer)), []
    hits = retrieve(bank, bpe, prompt, n, cut)
    if mode == 'rag':
        rag = chat_prompt(bpe, question, [bank.refs[i][2] for i in hits])
        return reply_text(bpe, generate(model, bpe, rag, max_new=max_new, answer=answer)), hits
    refs = [bank.refs[i][1] for i in hits]
    return reply_text(bpe, generate(model, bpe, prompt, pre, refs, max_new=max_new, answer=answer)), hits
