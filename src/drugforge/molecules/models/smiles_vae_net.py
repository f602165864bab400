"""The SMILES VAE network: its config, the module, the loss terms and the decoding loop.

The estimator that trains and uses it is :class:`~drugforge.molecules.models.smiles_vae.SmilesVAE`
(``kind='smiles-vae'``), in the style of the MOSES VAE.

After Polykovskiy et al. 2020 (MOSES, ``moses/vae/model.py``) and Gomez-Bombarelli et al. 2018:
a recurrent encoder reads the SMILES tokens into a Gaussian posterior ``q(z | x)``, a recurrent
decoder writes the tokens back, conditioned on ``z`` at every step. Shapes (``B`` molecules,
``L`` tokens with ``<bos>``/``<eos>``, ``V`` vocabulary, ``E`` embedding, ``Z`` latent)::

    ids (B, L) -> embedding (B, L, E) -> bidirectional GRU -> last layer, both directions
               -> h (B, 2 * encoder_hidden) -> mu, logvar (B, Z)
    z = mu + exp(logvar / 2) * eps                                   (reparameterization)
    z -> h0 (decoder_layers, B, decoder_hidden)                      (one linear map)
    [embedding(ids[:, :-1]) ; z] (B, L-1, E+Z) -> GRU decoder -> logits (B, L-1, V)

The loss per molecule is the negative ELBO with a weighted KL term (a beta-VAE)::

    recon = sum over tokens of the cross-entropy of ids[:, 1:]       (nats per molecule)
    kl    = KL(q(z|x) || N(0, I)) = 0.5 * sum(exp(logvar) + mu^2 - 1 - logvar)
    loss  = recon + beta * kl

``beta`` and its annealing are set by the estimator; :func:`decode_latents` is greedy at
``temperature=0`` and samples otherwise, with uniforms from a seeded CPU ``torch.Generator``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from drugforge.molecules.featurize.tokenizer import BOS_ID, EOS_ID, PAD_ID

__all__ = ["SmilesVAEConfig", "SmilesVAEModule", "decode_latents", "vae_loss_terms"]


@dataclass
class SmilesVAEConfig:
    """Architecture of :class:`SmilesVAEModule`.

    The defaults (~1.0 M parameters) are sized for CPU training: on one torch thread of the
    2-core development machine, loaded by other jobs (load average 5-10), they trained
    110-140 molecules/s (1.2-1.5 M molecules, about one MOSES epoch, in 3 hours) and sampled
    370-525 per second (``benchmarks/generators_speed.py``). The MOSES VAE's own size
    (decoder 3 x 512) trained 25-38 molecules/s there, 12+ hours per MOSES epoch: a GPU size.
    """

    vocab_size: int  # tokens including the four specials
    embedding_dim: int = 32
    encoder_hidden: int = 128  # per direction
    encoder_layers: int = 1
    bidirectional: bool = True
    latent_dim: int = 128
    decoder_hidden: int = 256
    decoder_layers: int = 2
    dropout: float = 0.0  # between stacked GRU layers
    max_length: int = 100  # most tokens a decoded string may have (<bos>/<eos> excluded)

    def __post_init__(self) -> None:
        for name in ("vocab_size", "embedding_dim", "encoder_hidden", "encoder_layers",
                     "latent_dim", "decoder_hidden", "decoder_layers", "max_length"):  # fmt: skip
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


class SmilesVAEModule(nn.Module):
    """GRU encoder -> (mu, logvar) -> z -> GRU decoder fed ``[token ; z]`` at every step."""

    def __init__(self, config: SmilesVAEConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embedding = nn.Embedding(c.vocab_size, c.embedding_dim, padding_idx=PAD_ID)
        self.encoder = nn.GRU(
            c.embedding_dim,
            c.encoder_hidden,
            num_layers=c.encoder_layers,
            batch_first=True,
            bidirectional=c.bidirectional,
            dropout=c.dropout if c.encoder_layers > 1 else 0.0,
        )
        directions = 2 if c.bidirectional else 1
        self.to_mu = nn.Linear(directions * c.encoder_hidden, c.latent_dim)
        self.to_logvar = nn.Linear(directions * c.encoder_hidden, c.latent_dim)
        self.latent_to_hidden = nn.Linear(c.latent_dim, c.decoder_layers * c.decoder_hidden)
        self.decoder = nn.GRU(
            c.embedding_dim + c.latent_dim,
            c.decoder_hidden,
            num_layers=c.decoder_layers,
            batch_first=True,
            dropout=c.dropout if c.decoder_layers > 1 else 0.0,
        )
        self.output = nn.Linear(c.decoder_hidden, c.vocab_size)

    def encode(self, ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """ids (B, L) right-padded, lengths (B,) -> mu, logvar (B, Z)."""
        c = self.config
        x = self.embedding(ids)  # (B, L, E)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, h = self.encoder(packed)  # (layers * directions, B, H_enc)
        directions = 2 if c.bidirectional else 1
        h = h.view(c.encoder_layers, directions, ids.shape[0], c.encoder_hidden)[-1]
        h = h.transpose(0, 1).reshape(ids.shape[0], directions * c.encoder_hidden)  # (B, 2H_enc)
        return self.to_mu(h), self.to_logvar(h)

    def initial_hidden(self, z: Tensor) -> Tensor:
        """z (B, Z) -> the decoder's first hidden state (decoder_layers, B, decoder_hidden)."""
        c = self.config
        h = self.latent_to_hidden(z).view(z.shape[0], c.decoder_layers, c.decoder_hidden)
        return h.transpose(0, 1).contiguous()

    def decode_logits(self, z: Tensor, ids: Tensor) -> Tensor:
        """Teacher forcing: z (B, Z), ids (B, L) -> logits (B, L-1, V) predicting ids[:, 1:].

        The padded batch goes through the GRU unpacked: the decoder reads left to right, so the
        padding after a molecule's last token cannot change its outputs, and the loss ignores
        the padded positions. On CPU this is ~20 % faster than a packed sequence (the GRU
        computes every step's input projection in one matrix product).
        """
        inputs = ids[:, :-1]  # (B, L-1): <bos> t1 ... tn (the <eos> is never an input)
        steps = inputs.shape[1]
        x = torch.cat([self.embedding(inputs), z[:, None, :].expand(-1, steps, -1)], dim=-1)
        out, _ = self.decoder(x, self.initial_hidden(z))  # (B, L-1, H)
        return self.output(out)  # type: ignore[no-any-return]

    def step(self, token: Tensor, z: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """One decoding step: token (B,), z (B, Z), h (layers, B, H) -> logits (B, V), new h."""
        x = torch.cat([self.embedding(token), z], dim=-1)[:, None, :]  # (B, 1, E+Z)
        out, h = self.decoder(x, h)  # out (B, 1, H)
        return self.output(out[:, 0]), h

    def forward(self, ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """ids (B, L), lengths (B,) -> logits (B, L-1, V), mu (B, Z), logvar (B, Z)."""
        mu, logvar = self.encode(ids, lengths)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # (B, Z)
        return self.decode_logits(z, ids), mu, logvar


def vae_loss_terms(module: SmilesVAEModule, ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """Reconstruction cross-entropy and KL divergence, each in nats per molecule (mean over B)."""
    logits, mu, logvar = module(ids, lengths)  # (B, L-1, V), (B, Z), (B, Z)
    target = ids[:, 1:]  # (B, L-1); <pad> positions are ignored
    recon = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
        ignore_index=PAD_ID, reduction="sum",
    ) / ids.shape[0]  # fmt: skip
    kl = 0.5 * (torch.exp(logvar) + mu.pow(2) - 1.0 - logvar).sum(dim=1).mean()
    return recon, kl


@torch.no_grad()
def decode_latents(
    module: SmilesVAEModule,
    z: Tensor,
    *,
    temperature: float = 0.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> np.ndarray:
    """Token ids ``(B, T)`` decoded from ``z (B, Z)``, ``T <= max_length``, padded after <eos>.

    ``temperature=0`` takes the most likely token; otherwise tokens are drawn from
    ``softmax(logits / temperature)`` (restricted to the ``top_k`` most likely when given) with
    uniforms from ``generator`` (a CPU generator, so the same seed gives the same draws on any
    device).
    """
    module.eval()
    n = z.shape[0]
    device = z.device
    h = module.initial_hidden(z)  # (layers, B, H)
    token = torch.full((n,), BOS_ID, dtype=torch.long, device=device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    out: list[Tensor] = []
    for _ in range(module.config.max_length + 1):  # max_length tokens, then room for <eos>
        logits, h = module.step(token, z, h)  # (B, V)
        if temperature <= 0:
            token = logits.argmax(dim=-1)
        else:
            logits = logits / temperature
            if top_k is not None and top_k < logits.shape[-1]:
                kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (B, 1)
                logits = logits.masked_fill(logits < kth, -math.inf)
            cdf = torch.softmax(logits.float(), dim=-1).cumsum(dim=-1)  # (B, V)
            u = torch.rand(n, 1, generator=generator).to(device) * cdf[:, -1:]
            token = torch.searchsorted(cdf, u).squeeze(1).clamp_max(logits.shape[-1] - 1)
        token = token.masked_fill(done, PAD_ID)
        out.append(token)
        done |= token == EOS_ID
        if bool(done.all()):
            break
    return torch.stack(out, dim=1).cpu().numpy()  # (B, T)
