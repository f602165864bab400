"""Protein language model embeddings (ESM-2 style Hugging Face checkpoints, local only).

>>> encoder = load_protein_lm("models/esm2_t6_8M_UR50D")  # a directory, never a hub name
>>> X = encoder.transform(["MKTAYIAKQR", "GSHMLE"])         # (2, hidden) float32

An embedding is the mean of the last layer's states over the real residues (special tokens
and padding excluded). A sequence longer than the model's positions is cut into overlapping
windows; a residue seen by several windows gets the mean of its states, and the sequence the
mean over its residues, so nothing is truncated.

``transformers`` is imported only here, inside functions: ``import drugforge.proteins`` never
needs it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from drugforge.core.errors import InputError
from drugforge.proteins.sequences import ALPHABET, InvalidSequenceError, normalize_sequence

__all__ = ["ProteinLMEncoder", "load_protein_lm"]

_INSTALL_HINT = "protein language models need the 'transformers' package: pip install transformers"


def _import_transformers() -> Any:
    try:
        import transformers
    except ImportError:
        raise InputError(_INSTALL_HINT) from None
    return transformers


@contextmanager
def _quiet_transformers(transformers: Any) -> Iterator[None]:
    """Silence load reports and progress bars while loading; restore the user's settings."""
    logging = transformers.utils.logging
    verbosity, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()


def load_protein_lm(
    path: str | Path,
    *,
    batch_size: int = 8,
    overlap: int | None = None,
    device: str | torch.device = "cpu",
) -> ProteinLMEncoder:
    """Load a model and its tokenizer from the local directory ``path`` (``save_pretrained``).

    Nothing is downloaded (``local_files_only=True``): ``path`` must hold the config, weights
    and tokenizer files.

    Raises
    ------
    InputError
        If transformers is missing, ``path`` is not a directory, or the model cannot be loaded.
    """
    transformers = _import_transformers()
    folder = Path(path)
    if not folder.is_dir():
        raise InputError("protein language model directory not found", path=folder)
    try:
        with _quiet_transformers(transformers):
            config = transformers.AutoConfig.from_pretrained(folder, local_files_only=True)
            extra = {"add_pooling_layer": False} if config.model_type == "esm" else {}
            tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
            # the pooler is unused and absent from ESM checkpoints: not building it avoids a
            # randomly initialised layer and the loader's warning about it
            model = transformers.AutoModel.from_pretrained(
                folder, config=config, local_files_only=True, **extra
            )
    except (OSError, ValueError, KeyError) as err:
        raise InputError(f"cannot load protein language model: {err}", path=folder) from None
    return ProteinLMEncoder(model, tokenizer, batch_size=batch_size, overlap=overlap, device=device)


class ProteinLMEncoder:
    """Mean-pooled last-layer embeddings of a protein language model: (n, hidden) float32.

    Parameters
    ----------
    model, tokenizer
        A Hugging Face encoder (``last_hidden_state`` output) and its tokenizer, which must
        give one token per residue letter (ESM does; ProtBert-style spaced input does not).
    batch_size
        Windows per forward pass.
    overlap
        Residues shared by neighbouring windows of a long sequence (default a quarter window).
    device
        Where the model runs.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        batch_size: int = 8,
        overlap: int | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.device = torch.device(device)
        # ESM's learned absolute positions start after the padding index (2 slots) and a
        # window also holds <cls> and <eos>: max_position_embeddings - 4 residues, which is
        # ESM-2's own training crop of 1,022 residues for its 1,026 positions
        self.max_residues = int(model.config.max_position_embeddings) - 4
        limit = getattr(tokenizer, "model_max_length", None)
        if isinstance(limit, int) and 2 < limit < 1_000_000:  # unset limits are huge sentinels
            self.max_residues = min(self.max_residues, limit - 2)
        if self.max_residues < 1:
            raise InputError(f"model allows too few positions ({self.max_residues + 4})")
        self.overlap = self.max_residues // 4 if overlap is None else overlap
        if batch_size < 1 or not 0 <= self.overlap < self.max_residues:
            raise ValueError(
                f"need batch_size >= 1 and 0 <= overlap < {self.max_residues}; "
                f"got batch_size={batch_size}, overlap={self.overlap}"
            )
        ids = tokenizer(ALPHABET, add_special_tokens=False)["input_ids"]
        if len(ids) != len(ALPHABET) or tokenizer.unk_token_id in ids:
            raise InputError("tokenizer does not give one known token per residue letter")

    @property
    def dim(self) -> int:
        """Embedding size (the model's hidden size)."""
        return int(self.model.config.hidden_size)

    def windows(self, length: int) -> list[int]:
        """Start positions of the windows covering a sequence of ``length`` residues."""
        if length <= self.max_residues:
            return [0]
        stride = self.max_residues - self.overlap
        starts = list(range(0, length - self.max_residues, stride))
        return [*starts, length - self.max_residues]  # the last window ends at the last residue

    @torch.no_grad()
    def transform(self, seqs: Sequence[str]) -> np.ndarray:
        """Embed ``seqs`` (validated and normalized first): (n, dim) float32.

        Raises
        ------
        InvalidSequenceError
            For the first invalid sequence, naming its 0-based index.
        """
        if isinstance(seqs, str):
            raise TypeError("expected a list of sequences, got one string")
        normalized = [_normalized(index, seq) for index, seq in enumerate(seqs)]
        # every window: (sequence index, residues, weight of each residue). A residue in c
        # windows has weight 1/c, so summing weighted states over windows and dividing by the
        # length is the mean over residues of each residue's window-averaged state
        chunks: list[tuple[int, str, np.ndarray]] = []
        for index, seq in enumerate(normalized):
            starts = self.windows(len(seq))
            seen = np.zeros(len(seq))
            for start in starts:
                seen[start : start + self.max_residues] += 1
            for start in starts:
                stop = start + self.max_residues
                chunks.append((index, seq[start:stop], 1.0 / seen[start:stop]))
        out = torch.zeros(len(normalized), self.dim, dtype=torch.float64)
        # longest first: windows of similar length share a batch, so little padding is run
        order = sorted(range(len(chunks)), key=lambda i: -len(chunks[i][1]))
        for first in range(0, len(order), self.batch_size):
            batch = [chunks[i] for i in order[first : first + self.batch_size]]
            self._add_batch(batch, out)
        lengths = torch.tensor([len(s) for s in normalized], dtype=torch.float64)
        return (out / lengths.clamp(min=1)[:, None]).numpy().astype(np.float32)

    def _add_batch(self, batch: list[tuple[int, str, np.ndarray]], out: torch.Tensor) -> None:
        enc = self.tokenizer(
            [residues for _, residues, _ in batch],
            padding=True,
            return_tensors="pt",
            return_special_tokens_mask=True,
        )
        real = enc["attention_mask"].bool() & ~enc["special_tokens_mask"].bool()  # (B, T)
        weights = torch.zeros(real.shape, dtype=torch.float64)  # (B, T)
        for row, (_, residues, weight) in enumerate(batch):
            if int(real[row].sum()) != len(residues):
                raise InputError("tokenizer does not give one token per residue")
            weights[row, real[row]] = torch.from_numpy(weight)
        hidden = self.model(
            input_ids=enc["input_ids"].to(self.device),
            attention_mask=enc["attention_mask"].to(self.device),
        ).last_hidden_state  # (B, T, H)
        summed = torch.einsum("bt,bth->bh", weights, hidden.to("cpu", torch.float64))  # (B, H)
        out.index_add_(0, torch.tensor([index for index, _, _ in batch]), summed)


def _normalized(index: int, seq: str) -> str:
    try:
        return normalize_sequence(seq)
    except InvalidSequenceError as err:
        raise InvalidSequenceError(
            f"sequence {index}: {err.message}", residue=err.residue, position=err.position
        ) from None
