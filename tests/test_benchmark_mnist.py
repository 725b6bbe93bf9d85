"""benchmarks/mnist.py: one measurement in-process on a few steps, and the run summary."""

from __future__ import annotations

from tests.benchmark_scripts import load


def test_child_measures_a_per_step_time():
    bench = load("mnist")
    row = bench._child("cpu", "lm-cholesky", 8)
    assert row["per_step_s"] > 0 and row["first_chunk_s"] > 0 and row["steps"] == 8
    assert 0.0 <= row["final_test_accuracy"] <= 1.0


def test_profile_attributes_time_to_named_scopes_and_counts_products():
    import jax
    import jax.numpy as jnp

    profile = load("xla_profile")

    def f(x, w):
        with jax.named_scope("first"):
            h = jnp.tanh(x @ w)
        with jax.named_scope("second"):
            return jnp.linalg.cholesky(h.T @ h + jnp.eye(h.shape[1]))

    args = (jnp.ones((64, 32)), jnp.ones((32, 16)) / 32)
    compiled = jax.jit(f).lower(*args).compile()
    found = profile.profile(compiled, args, ("first", "second"), calls=2)
    assert set(found["ms_by_scope"]) <= {"first", "second", "other"}
    assert found["ms_by_scope"].get("second", 0) > 0 and found["ms_ops"] > 0
    assert profile.count_products(compiled.as_text(), (64, 32), (64, 16)) == 1
    assert profile.scope_of("jit(f)/while/body/update/lm_gram/dot", ("lm_gram",)) == "lm_gram"
