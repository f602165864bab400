"""Frechet ChemNet Distance (FCD; Preuer et al., J. Chem. Inf. Model. 2018) as MOSES computes it.

ChemNet is a small SMILES network (two strided convolutions, two LSTMs) trained to predict
biological activities; the FCD compares the Gaussians fitted to its 512 penultimate activations on
two sets of molecules: ``||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))``.

:class:`ChemNet` is drugforge's own module. Its weights are the ones the ``fcd`` package ships
(``ChemNet_v0.13_pretrained.pt``). That file holds plain data only: a list of
``(layer type, (state dict, constructor arguments, extra info))`` built from lists, tuples, dicts,
strings, numbers and tensors. ``torch.load(weights_only=True)`` reads exactly that and refuses
anything executable; the loader then checks every layer against the architecture below before
copying the tensors in (strict ``load_state_dict``).

SMILES are encoded as MOSES' ``fcd_torch`` does: canonicalized with RDKit, tokens over a 35-symbol
alphabet (two-letter symbols when the next character is ``r``, ``i`` or ``l``), cut at the first
``.`` and at 349 tokens, an end token ``.``, padded to 350, one-hot divided by 35.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rdkit import Chem, rdBase
from torch import nn

from drugforge.core.errors import InputError, InvalidSmilesError

__all__ = [
    "CHEMNET_PAD_LEN",
    "CHEMNET_VOCAB",
    "ChemNet",
    "chemnet_activations",
    "chemnet_statistics",
    "chemnet_tokens",
    "chemnet_weights_path",
    "frechet_chemnet_distance",
    "frechet_distance",
    "load_chemnet",
    "weights_digest",
]

# fmt: off
#: ChemNet's input alphabet; 'X' is the unknown symbol and '.' the end token
CHEMNET_VOCAB = (
    "C", "N", "O", "H", "F", "Cl", "P", "B", "Br", "S", "I", "Si", "#", "(", ")", "+", "-",
    "1", "2", "3", "4", "5", "6", "7", "8", "=", "[", "]", "@", "c", "n", "o", "s", "X", ".",
)
# fmt: on
#: every SMILES is padded (or cut) to this many positions
CHEMNET_PAD_LEN = 350
_INDEX = {symbol: i for i, symbol in enumerate(CHEMNET_VOCAB)}
_UNKNOWN = _INDEX["X"]
_END = _INDEX["."]
_TWO_LETTER_TAILS = frozenset("ril")

ProgressCallback = Callable[[int], None]


class ChemNet(nn.Module):
    """ChemNet v0.13 (Preuer et al. 2018) up to its 512-unit penultimate layer.

    Both LSTMs read their input backwards (Keras ``go_backwards``): the sequence is flipped before
    each of them, and the second one's last output is the embedding.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(len(CHEMNET_VOCAB), 32, kernel_size=4, stride=2, bias=False)
        self.conv2 = nn.Conv1d(32, 32, kernel_size=4, stride=2, bias=False)
        self.lstm1 = nn.LSTM(32, 128, batch_first=True)
        self.lstm2 = nn.LSTM(128, 512, batch_first=True)

    @staticmethod
    def _same_padding(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
        # TensorFlow "same" padding: the odd extra column goes to the end
        length = x.shape[2]
        total = max(kernel - (stride if length % stride == 0 else length % stride), 0)
        return nn.functional.pad(x, (total // 2, total - total // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, 35, 350) one-hot / 35
        h = nn.functional.selu(self.conv1(self._same_padding(x, 4, 2)))  # (B, 32, 175)
        h = nn.functional.selu(self.conv2(self._same_padding(h, 4, 2)))  # (B, 32, 88)
        h = h.transpose(1, 2).flip(1)  # (B, 88, 32), time reversed
        h, _ = self.lstm1(h)  # (B, 88, 128)
        h, _ = self.lstm2(h.flip(1))  # (B, 88, 512)
        return h[:, -1]  # (B, 512)


def chemnet_weights_path() -> Path:
    """``ChemNet_v0.13_pretrained.pt`` inside the installed ``fcd`` package (not imported)."""
    try:
        spec = importlib.util.find_spec("fcd")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin is not None:
        path = Path(spec.origin).parent / "ChemNet_v0.13_pretrained.pt"
        if path.is_file():
            return path
    raise InputError(
        "ChemNet weights not found: the FCD needs the fcd package's ChemNet_v0.13_pretrained.pt; "
        "install it with: pip install --no-deps fcd==1.2.2 (make install does)"
    )


# (layer type, state-dict shapes, constructor arguments that must match, extra info)
_EXPECTED: list[tuple[str, dict[str, tuple[int, ...]], dict[str, Any], dict[str, Any]]] = [
    ("Conv1d", {"weight": (32, 35, 4)},
     {"in_channels": 35, "out_channels": 32, "kernel_size": 4, "stride": 2, "bias": False},
     {"activation": "selu", "padding": "same"}),
    ("Conv1d", {"weight": (32, 32, 4)},
     {"in_channels": 32, "out_channels": 32, "kernel_size": 4, "stride": 2, "bias": False},
     {"activation": "selu", "padding": "same"}),
    ("LSTM", {"weight_ih_l0": (512, 32), "weight_hh_l0": (512, 128), "bias_ih_l0": (512,),
              "bias_hh_l0": (512,)},
     {"input_size": 32, "hidden_size": 128, "batch_first": True},
     {"reverse": True, "last": False}),
    ("LSTM", {"weight_ih_l0": (2048, 128), "weight_hh_l0": (2048, 512), "bias_ih_l0": (2048,),
              "bias_hh_l0": (2048,)},
     {"input_size": 128, "hidden_size": 512, "batch_first": True},
     {"reverse": True, "last": True}),
]  # fmt: skip


@lru_cache(maxsize=2)
def load_chemnet(path: str | None = None) -> ChemNet:
    """ChemNet with the ``fcd`` package's pretrained weights, in eval mode (cached per path).

    Raises
    ------
    InputError
        When the file is missing, is not plain data, or does not describe ChemNet v0.13.
    """
    source = Path(path) if path is not None else chemnet_weights_path()
    try:
        layers = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises assorted types for bad files
        first = " ".join(str(err).split())[:200]
        raise InputError(
            f"cannot read ChemNet weights as plain data: {first}", path=source
        ) from None
    model = ChemNet()
    modules = [model.conv1, model.conv2, model.lstm1, model.lstm2]
    if not isinstance(layers, list) or len(layers) != len(_EXPECTED):
        raise InputError("not ChemNet v0.13 weights: expected 4 layers", path=source)
    for i, (layer, expected, module) in enumerate(zip(layers, _EXPECTED, modules, strict=True)):
        kind, shapes, kwargs, info = expected
        try:
            got_kind, (state, got_kwargs, got_info) = layer
            bad = (
                got_kind != kind
                or {k: tuple(v.shape) for k, v in state.items()} != shapes
                or any(got_kwargs.get(k) != v for k, v in kwargs.items())
                or any(got_info.get(k) != v for k, v in info.items())
            )
        except (TypeError, ValueError, AttributeError):
            bad = True
        if bad:
            raise InputError(f"not ChemNet v0.13 weights: layer {i + 1} differs", path=source)
        module.load_state_dict(state, strict=True)
    model.eval()
    return model


def chemnet_tokens(smiles: str) -> np.ndarray:
    """Vocabulary indices of ``smiles`` as MOSES' ``fcd_torch`` encodes it (without canonicalizing).

    Returns at most :data:`CHEMNET_PAD_LEN` indices, the last one the end token.
    """
    text = smiles + "."
    out: list[int] = []
    src = 0
    while True:
        if src + 1 < len(text) and text[src + 1] in _TWO_LETTER_TAILS:
            symbol = text[src : src + 2]
            src += 2
        else:
            symbol = text[src]
            src += 1
        out.append(_INDEX.get(symbol, _UNKNOWN))
        # stop at the first '.', i.e. the end token or a fragment separator, or when full
        if src >= len(text) or text[src] == "." or len(out) == CHEMNET_PAD_LEN - 1:
            out.append(_END)
            break
    return np.asarray(out, dtype=np.int64)


def _canonical(smiles: str) -> str:
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        raise InvalidSmilesError(f"ChemNet got an invalid SMILES '{smiles[:80]}'")
    return str(Chem.MolToSmiles(mol))


def _one_hot(batch: Sequence[str]) -> torch.Tensor:
    x = torch.zeros(len(batch), len(CHEMNET_VOCAB), CHEMNET_PAD_LEN)  # (B, 35, 350)
    for row, smiles in enumerate(batch):
        tokens = torch.from_numpy(chemnet_tokens(smiles))
        x[row, tokens, torch.arange(len(tokens))] = 1.0 / len(CHEMNET_VOCAB)
    return x


def chemnet_activations(
    smiles: Sequence[str],
    *,
    canonicalize: bool = True,
    batch_size: int = 512,
    model: ChemNet | None = None,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """ChemNet's 512 penultimate activations for each SMILES, ``(n, 512)`` float32.

    Parameters
    ----------
    smiles
        SMILES strings; each is canonicalized with RDKit first unless ``canonicalize=False``
        (as ``fcd_torch`` does), so an invalid one raises ``InvalidSmilesError``.
    batch_size
        Molecules per forward pass.
    model
        A loaded ChemNet (default :func:`load_chemnet`).
    progress
        Called with the number of molecules done after each batch.
    """
    net = model if model is not None else load_chemnet()
    texts = [_canonical(s) for s in smiles] if canonicalize else list(smiles)
    out = np.zeros((len(texts), 512), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            out[start : start + len(batch)] = net(_one_hot(batch)).numpy()
            if progress is not None:
                progress(len(batch))
    return out


def chemnet_statistics(
    smiles: Sequence[str],
    *,
    canonicalize: bool = True,
    batch_size: int = 512,
    model: ChemNet | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(512,)`` and covariance ``(512, 512)`` of ChemNet activations over ``smiles``.

    Repeated SMILES (after canonicalization) go through ChemNet once and count with their
    multiplicity, which gives the same mean and covariance as the full list. Fewer than two
    molecules give NaN statistics (MOSES returns NaN too).
    """
    texts = [_canonical(s) for s in smiles] if canonicalize else list(smiles)
    if len(texts) < 2:
        return np.full(512, np.nan), np.full((512, 512), np.nan)
    counts = Counter(texts)
    unique = list(counts)
    weights = np.asarray([counts[s] for s in unique], dtype=np.int64)
    acts = chemnet_activations(
        unique, canonicalize=False, batch_size=batch_size, model=model, progress=progress
    )
    # float64 in torch: numpy's BLAS threads fight torch's spinning OpenMP threads (20x slower)
    x = torch.from_numpy(acts).double()
    w = torch.from_numpy(weights).double()[:, None]
    total = float(w.sum())
    mu = (w * x).sum(0) / total
    centred = x - mu
    sigma = (centred * w).T @ centred / (total - 1)  # np.cov(..., fweights=weights)
    return mu.numpy(), sigma.numpy()


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run 512x512 eigen-decompositions on one thread.

    They gain little from two threads, and on a loaded machine a parallel LAPACK call waits at
    every barrier for a descheduled thread: 0.3 s became 20-70 s at load 10 on 2 cores.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp(min=0.0).sqrt()) @ vectors.T


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``tr((S1 S2)^(1/2))`` is computed as the sum of square roots of the eigenvalues of the
    symmetric ``S1^(1/2) S2 S1^(1/2)`` (same spectrum as ``S1 S2``), with round-off negatives
    clipped to zero: real and stable where ``scipy.linalg.sqrtm`` of the product can turn complex.
    NaN statistics give NaN.
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape:
        raise ValueError(f"statistics differ in shape: {mu1.shape} vs {mu2.shape}")
    if not (np.isfinite(mu1).all() and np.isfinite(mu2).all()):
        return float("nan")
    if not (np.isfinite(s1).all() and np.isfinite(s2).all()):
        return float("nan")
    with _one_thread():
        t1, t2 = torch.from_numpy(s1), torch.from_numpy(s2)
        root1 = _sqrt_psd(t1)
        middle = root1 @ t2 @ root1
        eig = torch.linalg.eigvalsh((middle + middle.T) / 2)
        tr_covmean = float(eig.clamp(min=0.0).sqrt().sum())
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)


def frechet_chemnet_distance(
    smiles1: Sequence[str],
    smiles2: Sequence[str],
    *,
    batch_size: int = 512,
    model: ChemNet | None = None,
) -> float:
    """FCD between two SMILES sets (each canonicalized first, as in MOSES). Lower is closer."""
    mu1, s1 = chemnet_statistics(smiles1, batch_size=batch_size, model=model)
    mu2, s2 = chemnet_statistics(smiles2, batch_size=batch_size, model=model)
    return frechet_distance(mu1, s1, mu2, s2)


def weights_digest(path: str | Path | None = None) -> str:
    """SHA-256 (first 16 hex digits) of the ChemNet weights file, for cache keys."""
    source = Path(path) if path is not None else chemnet_weights_path()
    return hashlib.sha256(source.read_bytes()).hexdigest()[:16]
