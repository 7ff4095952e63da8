#!/usr/bin/env bash
# `npm run test:train` (and CI): the Python side from scratch, in a few minutes on CPU. Installs
# Debian's python3-torch (and OpenBLAS, ~10x faster than the reference BLAS) when missing, rebuilds
# the corpus, the tokenizer and the held-out question set (deterministic: they must equal the shipped
# tokenizer.json and bench/data/qa-heldout.json, which the shipped bank was built from), checks the
# Python retriever against the engine's, then trains both stages for a few steps on a tiny slice and
# scores a few evaluation items. Writes only under tools/corpus/.cache and tools/train/.cache
# (smoke1/, smoke2/); bench/results is untouched.
set -euo pipefail
cd "$(dirname "$0")/../.."
py=/usr/bin/python3   # Debian's torch is built for Debian's python, not a pyenv one on PATH

export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
# build_corpus.py fetches the dictionaries with `apt-get download`, which needs package lists.
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then $SUDO apt-get update -qq; fi
if ! "$py" -c 'import torch' 2>/dev/null || [ ! -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ]; then
  echo "train smoke: installing Debian's python3-torch and OpenBLAS"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq python3-torch libopenblas0-pthread >/dev/null
fi
"$py" -c 'import torch; print("train smoke: torch", torch.__version__)'

(cd tools/corpus && "$py" build_corpus.py && "$py" train_tokenizer.py)

same() {  # same <what> <a> <b>: the rebuilt file must be byte-identical to what ships
  if ! cmp -s "$2" "$3"; then echo "train smoke: the rebuilt $1 ($2) differs from $3" >&2; exit 1; fi
  echo "train smoke: rebuilt $1 is identical to $3"
}
same tokenizer tools/corpus/.cache/tokenizer/tokenizer.json public/models/memory3-tiny/tokenizer.json
if ! "$py" -c 'import json, sys; a, b = (json.load(open(p)) for p in sys.argv[1:]); sys.exit(a != b)' \
    tools/corpus/.cache/tokenizer/tokenizer_config.json public/models/memory3-tiny/tokenizer_config.json; then
  echo "train smoke: the rebuilt tokenizer_config.json differs from the shipped one" >&2; exit 1
fi
(cd tools/corpus && "$py" entities.py >/dev/null)
(cd tools/train && "$py" qa_set.py --out ../corpus/.cache/qa-heldout.json >/dev/null)
same "held-out question set" tools/corpus/.cache/qa-heldout.json bench/data/qa-heldout.json
want=$(node -p "require('./public/banks/memory3-tiny-knowledge.json').knowledgeSha256")
got=$(sha256sum bench/data/qa-heldout.json | cut -d' ' -f1)
if [ "$got" != "$want" ]; then echo "train smoke: knowledge set $got, but the shipped bank was built from $want" >&2; exit 1; fi
echo "train smoke: the knowledge set is the one the shipped bank was built from"

cd tools/train
"$py" check_memory.py
"$py" check_bm25.py --refs 1500 --queries 150
"$py" train.py --smoke
"$py" train_memory.py --smoke
# The shipped model and bank, read back by PyTorch: records must agree with its own encoding.
"$py" evaluate_bank.py --smoke | tail -1
line=$("$py" evaluate.py .cache/smoke2/ckpt.pt --smoke | tail -1)
echo "$line"
case "$line" in
  qa:*nan*|qa:*inf*|"") echo "train smoke: the evaluation is not finite" >&2; exit 1 ;;
  qa:*) echo "train smoke: ok" ;;
  *) echo "train smoke: the evaluation printed no summary" >&2; exit 1 ;;
esac
