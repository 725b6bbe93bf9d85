"""The decoder-only transformer: causal mask, block formulas, parameter count, and its GGN
matvec against the explicit ``(1/N) J^T H J``."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from core import models, optim, transformer
from core.objectives import SoftmaxCrossEntropy
from tests.optim.test_generalized_gauss_newton import _explicit_ggn

ALL_POSITIONS = (0, 1, 2, 3, 4, 5)


def _tiny(**options):
    config = dict(
        vocab_size=7, sequence_length=6, readout=ALL_POSITIONS, layers=2, d_model=8, heads=2
    )
    config.update(d_ffn=12, **options)
    return transformer.make_transformer(jax.random.PRNGKey(0), **config)


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_causal_mask_blocks_the_future(norm):
    """Position i's logits do not change when tokens after i change, and do when token i does."""
    model = _tiny(norm=norm)
    tokens = jnp.array([0, 1, 2, 3, 4, 5])
    base = model(tokens)
    for i in range(5):
        future = tokens.at[i + 1 :].set(6)
        changed = model(future)
        np.testing.assert_allclose(changed[: i + 1], base[: i + 1], rtol=1e-6, atol=1e-6)
        assert not np.allclose(changed[i + 1], base[i + 1])
    assert not np.allclose(model(tokens.at[0].set(6))[0], base[0])


def test_attention_at_the_first_position_sees_only_itself():
    """Query 0 has one visible key, so its attention output is ``W_o W_v x_0`` exactly."""
    model = _tiny()
    attention = model.blocks[0].attention
    x = jax.random.normal(jax.random.PRNGKey(1), (6, 8))
    out = attention(x)
    expected = attention.output.weight @ (attention.value.weight @ x[0])
    np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-6)


def test_causal_mask_matrix():
    np.testing.assert_array_equal(transformer.causal_mask(3), np.tril(np.ones((3, 3), bool)))


def _layer_norm(x, norm):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + norm.eps) * np.asarray(norm.weight) + np.asarray(norm.bias)


def _numpy_forward(model, tokens):
    """The module docstring's formulas in numpy (post-LN, no biases)."""
    x = (
        np.asarray(model.embedding.weight)[tokens]
        + np.asarray(model.positions.get())[: len(tokens)]
    )
    for block in model.blocks:
        att = block.attention
        h = att.num_heads
        d_head = x.shape[1] // h
        q, k, v = (x @ np.asarray(layer.weight).T for layer in (att.query, att.key, att.value))
        heads = []
        for j in range(h):
            cols = slice(j * d_head, (j + 1) * d_head)
            scores = q[:, cols] @ k[:, cols].T / math.sqrt(d_head)
            scores = np.where(np.tril(np.ones_like(scores, bool)), scores, -np.inf)
            weights = np.exp(scores - scores.max(1, keepdims=True))
            weights /= weights.sum(1, keepdims=True)
            heads.append(weights @ v[:, cols])
        mixed = np.concatenate(heads, axis=1) @ np.asarray(att.output.weight).T
        a = _layer_norm(x + mixed, block.norm_attention)
        ffn = (
            np.maximum(a @ np.asarray(block.ffn_in.weight).T, 0)
            @ np.asarray(block.ffn_out.weight).T
        )
        x = _layer_norm(a + ffn, block.norm_ffn)
    return x[list(model.readout)] @ np.asarray(model.unembedding.weight).T


def test_post_layer_norm_forward_matches_the_formulas():
    model = _tiny()
    tokens = np.array([6, 2, 4, 1, 5, 3])
    np.testing.assert_allclose(
        model(jnp.asarray(tokens)), _numpy_forward(model, tokens), rtol=2e-4, atol=2e-5
    )


def test_grok_architecture_has_455424_parameters():
    """grok's model (docs/paper-notes.md#transformer): 239-token vocabulary, d_model 128,
    2 blocks, FFN 512, no biases."""
    model = transformer.make_transformer(
        jax.random.PRNGKey(0), vocab_size=239, sequence_length=6, readout=(4, 5)
    )
    params, _ = models.partition_trainable(model)
    assert models.parameter_count(params) == 455_424  # sinusoidal positions are not trained


def test_options():
    learned = _tiny(positions="learned", use_bias=True, norm="pre")
    params, _ = models.partition_trainable(learned)
    assert learned.final_norm is not None and learned.blocks[0].ffn_in.bias is not None
    assert models.parameter_count(params) > models.parameter_count(
        models.partition_trainable(_tiny())[0]
    )
    with pytest.raises(ValueError, match="multiple of heads"):
        _tiny(heads=3)
    with pytest.raises(ValueError, match="readout"):
        transformer.make_transformer(
            jax.random.PRNGKey(0), vocab_size=5, sequence_length=3, readout=(3,)
        )
    with pytest.raises(ValueError, match="positions"):
        _tiny(positions="rotary")


def test_sinusoidal_table():
    table = transformer.sinusoidal_positions(4, 6)
    i, k = 3, 1
    assert table[i, 2 * k] == pytest.approx(math.sin(i / 10000 ** (2 * k / 6)))
    assert table[i, 2 * k + 1] == pytest.approx(math.cos(i / 10000 ** (2 * k / 6)))


@pytest.mark.parametrize("readout", [(4,), (4, 5)])
def test_ggn_matvec_equals_explicit_jt_h_j(x64, readout):
    """The matrix-free ``v -> (1/N) J^T H J v`` of the transformer (N = sequences x loss positions)
    against the materialised product at a tiny size (float64)."""
    model = transformer.make_transformer(
        jax.random.PRNGKey(2),
        vocab_size=5,
        sequence_length=6,
        readout=readout,
        layers=1,
        d_model=4,
        heads=2,
        d_ffn=6,
    )
    params, static = models.partition_trainable(model)
    objective = SoftmaxCrossEntropy(static)
    tokens = jax.random.randint(jax.random.PRNGKey(3), (3, 6), 0, 5)
    labels = jax.random.randint(jax.random.PRNGKey(4), (3, len(readout)), 0, 5)
    batch = (tokens, labels)
    explicit = _explicit_ggn(objective, params, batch)
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    assert explicit.shape == (flat.shape[0], flat.shape[0])  # only at a tiny size
    _, matvec = optim.ggn_matvec(lambda p: objective.logits(p, tokens), params)
    rng = np.random.default_rng(0)
    for _ in range(3):
        vector = jnp.asarray(rng.standard_normal(flat.shape[0]))
        ours = jax.flatten_util.ravel_pytree(matvec(unravel(vector)))[0]
        np.testing.assert_allclose(ours, explicit @ vector, rtol=1e-9, atol=1e-11)
