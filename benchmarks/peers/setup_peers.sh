#!/usr/bin/env bash
# Create (or update) the peer-tools virtual environment (Chemprop 2.3.1, ADMET-AI 2.0.1,
# torchvision 0.28.0) at benchmarks/.venv-peers.
#
# Peers are never project dependencies: they live in this separate venv and are called through
# their command-line tools. The script is idempotent: rerunning it only installs what is missing.
#
# torch is installed FIRST and pinned: `torch==2.13.0` resolves to a CPU build already on disk,
# while any looser torch requirement (as a peer's own pins may bring) downloads GBs of CUDA wheels.
#
# To add a peer: append "name==version" to PEERS below. If its pins fight torch 2.13.0, add it to
# NO_DEPS_PEERS instead and list its other requirements in EXTRA_DEPS; `pip check` runs at the end.
#
# Usage: bash benchmarks/peers/setup_peers.sh        (PYTHON=/path/to/python3.11 to choose the base)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$(cd "$here/.." && pwd)/.venv-peers"
python="${PYTHON:-python3}"

TORCH="torch==2.13.0"
# Peers installed with their dependencies (the constraint file keeps torch at 2.13.0).
PEERS=(
  "chemprop==2.3.1"
  "admet-ai==2.0.1"  # needs chemprop>=2.2.2; its model weights ship inside the wheel
  # MedMNIST baseline: torchvision's ResNet-18 and reference recipe. PyPI's wheel is a CUDA build
  # whose compiled ops cannot load on the CPU torch; only its pure-Python parts (models,
  # transforms) are used (see README.md, torchvision_medmnist.py).
  "torchvision==0.28.0"
)
# Peers whose own pins conflict with torch 2.13.0: installed with --no-deps ...
NO_DEPS_PEERS=(
)
# ... and their remaining requirements, installed explicitly.
EXTRA_DEPS=(
)

if [[ ! -x "$venv/bin/python" ]]; then
  echo "creating $venv"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet --upgrade pip

# Constraint file so no later install can move torch off the pinned CPU build.
constraints="$venv/peers-constraints.txt"
echo "$TORCH" >"$constraints"

installed() { # installed "name==version" -> 0 when exactly that version is present
  local name="${1%%==*}" want="${1##*==}" have
  have="$("$venv/bin/python" -c "import importlib.metadata as m,sys
try: print(m.version(sys.argv[1]))
except m.PackageNotFoundError: pass" "$name")"
  # torch reports a local version (2.13.0+cpu): compare the public part only.
  [[ "${have%%+*}" == "$want" ]]
}

if ! installed "$TORCH"; then
  echo "installing $TORCH"
  "${pip[@]}" install "$TORCH"
fi
for spec in "${PEERS[@]}"; do
  if ! installed "$spec"; then
    echo "installing $spec"
    "${pip[@]}" install -c "$constraints" "$spec"
  fi
done
for spec in "${NO_DEPS_PEERS[@]}"; do
  if ! installed "$spec"; then
    echo "installing $spec (--no-deps)"
    "${pip[@]}" install --no-deps "$spec"
  fi
done
if ((${#EXTRA_DEPS[@]})); then
  "${pip[@]}" install --quiet -c "$constraints" "${EXTRA_DEPS[@]}"
fi

"${pip[@]}" check
"$venv/bin/python" - <<'PY'
import importlib.metadata as m
for name in ("torch", "torchvision", "chemprop", "admet-ai", "lightning", "rdkit", "numpy"):
    try:
        print(f"{name}=={m.version(name)}")
    except m.PackageNotFoundError:
        print(f"{name}: not installed")
PY
echo "peer venv ready: $venv"
