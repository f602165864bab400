#!/usr/bin/env bash
# DeepPurpose 0.1.5 (DeepDTA's CNN-CNN and friends) in its own venv, benchmarks/.venv-deeppurpose.
#
# Separate from .venv-peers because its pins move pandas and others under Chemprop. torch is
# installed first and pinned (2.13.0, the CPU build on disk) with a constraint file, so nothing
# pulls a CUDA build. Idempotent. Usage: bash benchmarks/peers/setup_deeppurpose.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$(cd "$here/.." && pwd)/.venv-deeppurpose"
python="${PYTHON:-python3}"
if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet --upgrade pip
"${pip[@]}" install --quiet "torch==2.13.0"
constraints="$venv/constraints.txt"
echo "torch==2.13.0" > "$constraints"
"${pip[@]}" install --quiet -c "$constraints" "DeepPurpose==0.1.5" "rdkit" "descriptastorus" "six" "pandas-flavor"
"$venv/bin/python" -c "import DeepPurpose, torch; print('DeepPurpose ready, torch', torch.__version__)"
