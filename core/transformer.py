"""A small decoder-only transformer (Power et al. 2022, ``openai/grok``;
docs/paper-notes.md#transformer).

One sequence of token ids ``t: (T,)`` maps to the logits at the ``readout`` positions,
``(len(readout), vocab)`` (the positions that carry the loss; batch with ``jax.vmap``)::

    x_0      = E[t] + P                       token embedding E (learned, N(0, 1)), positions P
    post-LN:  a = LN(x + Attn(x)),  x' = LN(a + FFN(a))          (grok, PyTorch's default)
    pre-LN:   a = x + Attn(LN(x)),  x' = a + FFN(LN(a)),  and LN before the unembedding
    Attn(x)  = concat_h softmax(Q_h K_h^T / sqrt(d_head) + M) V_h  W_o,   M_ij = -inf for j > i
    FFN(a)   = W_2 relu(W_1 a)
    logits   = U x_L[readout]                 untied unembedding U

The causal mask ``M`` makes position ``i`` see positions ``<= i`` only. Linear layers are drawn
like PyTorch's ``nn.Linear`` (U(+-1/sqrt(fan_in)), :class:`equinox.nn.Linear`'s default) and have
biases only with ``use_bias``; LayerNorms keep their affine weight and bias (PyTorch's default,
which is how grok's 455 424 parameters count). Sinusoidal positions are a frozen constant,
learned ones are drawn N(0, 1) like an ``nn.Embedding``.
"""

from __future__ import annotations

import math
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from core.models import Frozen

Norm = Literal["post", "pre"]
Positions = Literal["sinusoidal", "learned"]


def sinusoidal_positions(length: int, d_model: int) -> np.ndarray:
    """``P[i, 2k] = sin(i / 10000^(2k/d))``, ``P[i, 2k+1] = cos(i / 10000^(2k/d))`` (Vaswani et
    al. 2017)."""
    position = np.arange(length)[:, None]
    rate = np.exp(-math.log(10000.0) * np.arange(0, d_model, 2) / d_model)
    table = np.zeros((length, d_model), np.float32)
    table[:, 0::2] = np.sin(position * rate)
    table[:, 1::2] = np.cos(position * rate)[:, : d_model // 2]
    return table


def causal_mask(length: int) -> Array:
    """``mask[i, j]`` is True where query ``i`` may attend to key ``j`` (``j <= i``)."""
    return jnp.tril(jnp.ones((length, length), bool))


class CausalSelfAttention(eqx.Module):
    query: eqx.nn.Linear
    key: eqx.nn.Linear
    value: eqx.nn.Linear
    output: eqx.nn.Linear
    num_heads: int = eqx.field(static=True)

    def __init__(self, d_model: int, num_heads: int, use_bias: bool, *, key: PRNGKeyArray):
        if d_model % num_heads:
            raise ValueError(f"d_model {d_model} is not a multiple of heads {num_heads}")
        keys = jax.random.split(key, 4)
        self.query, self.key, self.value, self.output = (
            eqx.nn.Linear(d_model, d_model, use_bias=use_bias, key=k) for k in keys
        )
        self.num_heads = num_heads

    def __call__(self, x: Float[Array, "T d"]) -> Float[Array, "T d"]:
        length, d_model = x.shape
        d_head = d_model // self.num_heads

        def heads(layer: eqx.nn.Linear) -> Array:  # (H, T, d_head)
            return jax.vmap(layer)(x).reshape(length, self.num_heads, d_head).transpose(1, 0, 2)

        q, k, v = heads(self.query), heads(self.key), heads(self.value)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d_head)
        scores = jnp.where(causal_mask(length), scores, -jnp.inf)
        mixed = jax.nn.softmax(scores, axis=-1) @ v  # (H, T, d_head)
        return jax.vmap(self.output)(mixed.transpose(1, 0, 2).reshape(length, d_model))


class TransformerBlock(eqx.Module):
    attention: CausalSelfAttention
    ffn_in: eqx.nn.Linear
    ffn_out: eqx.nn.Linear
    norm_attention: eqx.nn.LayerNorm
    norm_ffn: eqx.nn.LayerNorm
    norm: Norm = eqx.field(static=True)

    def __init__(
        self, d_model: int, num_heads: int, d_ffn: int, norm: Norm, use_bias: bool, *, key
    ):
        k_attn, k_in, k_out = jax.random.split(key, 3)
        self.attention = CausalSelfAttention(d_model, num_heads, use_bias, key=k_attn)
        self.ffn_in = eqx.nn.Linear(d_model, d_ffn, use_bias=use_bias, key=k_in)
        self.ffn_out = eqx.nn.Linear(d_ffn, d_model, use_bias=use_bias, key=k_out)
        self.norm_attention = eqx.nn.LayerNorm(d_model)
        self.norm_ffn = eqx.nn.LayerNorm(d_model)
        self.norm = norm

    def ffn(self, x: Float[Array, "T d"]) -> Float[Array, "T d"]:
        return jax.vmap(lambda row: self.ffn_out(jax.nn.relu(self.ffn_in(row))))(x)

    def __call__(self, x: Float[Array, "T d"]) -> Float[Array, "T d"]:
        ln_attention, ln_ffn = jax.vmap(self.norm_attention), jax.vmap(self.norm_ffn)
        if self.norm == "post":
            x = ln_attention(x + self.attention(x))
            return ln_ffn(x + self.ffn(x))
        x = x + self.attention(ln_attention(x))
        return x + self.ffn(ln_ffn(x))


class Transformer(eqx.Module):
    """Decoder-only transformer returning the logits at the ``readout`` positions."""

    embedding: eqx.nn.Embedding
    positions: Frozen | Array  # Frozen(sinusoidal table) or a learned (T, d) array
    blocks: tuple[TransformerBlock, ...]
    final_norm: eqx.nn.LayerNorm | None
    unembedding: eqx.nn.Linear
    readout: tuple[int, ...] = eqx.field(static=True)

    def __call__(self, tokens: Int[Array, " T"]) -> Float[Array, "L V"]:
        positions = self.positions.get() if isinstance(self.positions, Frozen) else self.positions
        x = jax.vmap(self.embedding)(tokens) + positions[: tokens.shape[0]]
        for block in self.blocks:
            x = block(x)
        x = x[jnp.asarray(self.readout)]
        if self.final_norm is not None:
            x = jax.vmap(self.final_norm)(x)
        return jax.vmap(self.unembedding)(x)


def make_transformer(
    key: PRNGKeyArray,
    *,
    vocab_size: int,
    sequence_length: int,
    readout: tuple[int, ...],
    layers: int = 2,
    d_model: int = 128,
    heads: int = 4,
    d_ffn: int = 512,
    norm: Norm = "post",
    use_bias: bool = False,
    positions: Positions = "sinusoidal",
) -> Transformer:
    """Defaults: grok's model (2 blocks, d_model 128, 4 heads, FFN 512, post-LN, no biases,
    sinusoidal positions; docs/paper-notes.md#transformer)."""
    if not readout or not all(0 <= i < sequence_length for i in readout):
        raise ValueError(f"readout positions {readout} must lie in [0, {sequence_length})")
    k_embed, k_pos, k_unembed, *k_blocks = jax.random.split(key, 3 + layers)
    if positions == "sinusoidal":
        table: Frozen | Array = Frozen(jnp.asarray(sinusoidal_positions(sequence_length, d_model)))
    elif positions == "learned":
        table = jax.random.normal(k_pos, (sequence_length, d_model))
    else:
        raise ValueError(f"positions must be 'sinusoidal' or 'learned', got {positions!r}")
    return Transformer(
        embedding=eqx.nn.Embedding(vocab_size, d_model, key=k_embed),
        positions=table,
        blocks=tuple(
            TransformerBlock(d_model, heads, d_ffn, norm, use_bias, key=k) for k in k_blocks
        ),
        final_norm=eqx.nn.LayerNorm(d_model) if norm == "pre" else None,
        unembedding=eqx.nn.Linear(d_model, vocab_size, use_bias=use_bias, key=k_unembed),
        readout=tuple(int(i) for i in readout),
    )
