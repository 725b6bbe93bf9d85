"""Equinox models: a configurable MLP and the lazy-training output-scaling wrapper.

Shapes: a model maps one sample ``x: (d_in,)`` to ``(d_out,)``; batch with ``jax.vmap``.

MLP layer ``l`` computes ``z_l = g_w W_l a_l + g_b b_l`` and ``a_{l+1} = phi(z_l)`` (no activation
after the last layer), with

* standard parametrisation: ``g_w = 1``, ``g_b = 1`` (weights drawn with the chosen initialiser);
* NTK parametrisation (Jacot et al. 2018): ``g_w = 1/sqrt(fan_in)``, ``g_b = beta``, weights
  normally drawn from N(0, 1);
* mean-field parametrisation (Mei, Montanari and Nguyen 2018): ``g_w = 1/sqrt(fan_in)`` on the
  hidden layers and ``1/fan_in`` on the readout, so a two-layer net is the *average* of its
  ``N`` units. With the quadratic activation and no biases this is Kumar et al.'s modular-addition
  model ``W_2 (W_1 x)^2 / (D N)`` (docs/paper-notes.md#modular-mlp).

``output_gain`` multiplies the readout's gains (an uncentred output scale: Kumar et al.'s
``s^2``).

The gains are not parameters, so the Jacobian with respect to ``W_l`` is ``g_w * g a_l^T``, which
:func:`core.curvature.gram.structured_gram` uses for its fast path.

Scales that a sweep varies are traced, not static: ``output_gain``, the ``alpha`` of
:class:`CenteredModel` and the ``scale`` of :class:`core.objectives.MeanSquaredError` are
:class:`Scale` values, 0-d arrays, so that models that differ only in them share one compiled
program (a Python float in a pytree is part of the jit cache key). :func:`partition_trainable`
keeps them out of the trainable parameters: they are never trained and add no column to the
Jacobian. The gains that follow from the shape and the parametrisation stay static floats: a
traced factor, even 1.0, changes how XLA fuses and folds constants, hence the last bits of
every result (README, "Performance").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, get_args

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

Activation = Literal["tanh", "relu", "quadratic"]
Initializer = Literal[
    "glorot_normal", "glorot_uniform", "kaiming_uniform", "torch_default", "normal"
]
BiasInit = Literal["zeros", "uniform_fan_in", "normal"]
Parametrisation = Literal["standard", "ntk", "mean_field"]
AlphaScope = Literal["weights", "all"]

ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "quadratic": jnp.square,
}

# Weight initialisers for a kernel stored as (fan_out, fan_in). `variance_scaling(s, "fan_in",
# "uniform")` draws U(-sqrt(3 s / fan_in), +sqrt(3 s / fan_in)).
_INITIALIZERS: dict[str, jax.nn.initializers.Initializer] = {
    # jax.nn.initializers.glorot_normal is a truncated normal with variance 2/(fan_in+fan_out).
    "glorot_normal": jax.nn.initializers.glorot_normal(in_axis=-1, out_axis=-2),
    "glorot_uniform": jax.nn.initializers.glorot_uniform(in_axis=-1, out_axis=-2),
    # Flax `kaiming_uniform()` = He uniform: U(+-sqrt(6 / fan_in)).
    "kaiming_uniform": jax.nn.initializers.he_uniform(in_axis=-1, out_axis=-2),
    # PyTorch nn.Linear default, kaiming_uniform_(a=sqrt(5)): U(+-1/sqrt(fan_in)).
    "torch_default": jax.nn.initializers.variance_scaling(
        1.0 / 3.0, "fan_in", "uniform", in_axis=-1, out_axis=-2
    ),
    "normal": jax.nn.initializers.normal(stddev=1.0),
}


class Scale(eqx.Module):
    """A fixed scalar factor (a gain, an output scale, a loss scale) as traced 0-d arrays.

    ``value`` and the powers the formulas use (``square``, ``inverse``, ``inverse_square``) are
    computed from the Python float in float64 and rounded once, weakly typed like a Python scalar,
    so arithmetic with them gives bit for bit what the float constant gave, while a new value does
    not recompile. Not trainable (:func:`partition_trainable`); no gradient flows into it.
    """

    value: Array
    square: Array
    inverse: Array
    inverse_square: Array

    @classmethod
    def of(cls, value: float | Scale) -> Scale:
        """``value`` as a :class:`Scale` (a :class:`Scale` is returned as it is)."""
        if isinstance(value, Scale):
            return value
        x = float(value)
        powers = (x, x * x, 1.0 / x, 1.0 / (x * x)) if x else (x, 0.0, math.inf, math.inf)
        # jnp.asarray of a Python float: the default float dtype, weakly typed (as a literal)
        return cls(*(jnp.asarray(power) for power in powers))


class Dense(eqx.Module):
    """``z = weight_gain * weight @ a + bias_gain * bias``; weight is ``(fan_out, fan_in)``.

    ``weight_gain`` and ``bias_gain`` come from the shape and the parametrisation (static);
    ``output_gain``, when given, multiplies ``z`` (the readout's traced :class:`Scale`).
    """

    weight: Float[Array, "out in"]
    bias: Float[Array, " out"] | None
    weight_gain: float = eqx.field(static=True)
    bias_gain: float = eqx.field(static=True)
    output_gain: Scale | None = None

    def __call__(self, a: Float[Array, " in"]) -> Float[Array, " out"]:
        z = self.weight_gain * (self.weight @ a)
        if self.bias is not None:
            z = z + self.bias_gain * self.bias
        if self.output_gain is not None:
            z = self.output_gain.value * z
        return z

    def gains(self) -> tuple[float | Array, float | Array]:
        """``(d z / d weight, d z / d bias)`` factors: the static gains times ``output_gain``."""
        if self.output_gain is None:
            return self.weight_gain, self.bias_gain
        scale = self.output_gain.value
        return scale * self.weight_gain, scale * self.bias_gain

    @property
    def fan_in(self) -> int:
        return self.weight.shape[1]

    @property
    def fan_out(self) -> int:
        return self.weight.shape[0]


class DenseFactors(eqx.Module):
    """Per-layer factors of the Jacobian of an MLP's outputs on a batch of ``n`` samples.

    ``output_grads[k, i]`` is ``d f_k(x_i) / d z_l`` (the backprop vector to the layer's
    pre-activation for output ``k``) and ``inputs[i]`` the layer's input ``a_l(x_i)``, so that
    ``d f_k(x_i) / d W_l = weight_gain * output_grads[k, i] inputs[i]^T`` and
    ``d f_k(x_i) / d b_l = bias_gain * output_grads[k, i]``.
    """

    output_grads: Float[Array, "k n out"]
    inputs: Float[Array, "n in"]
    weight_gain: float | Array  # a Python float, or an array when a traced scale enters
    bias_gain: float | Array | None  # None: the layer has no bias


class MLP(eqx.Module):
    """Fully connected network ``R^{d_in} -> R^{d_out}``; see the module docstring for the maths."""

    layers: tuple[Dense, ...]
    activation: str = eqx.field(static=True)

    def __call__(self, x: Float[Array, " d_in"]) -> Float[Array, " d_out"]:
        return self.forward_with_taps(x, None)[0]

    def forward_with_taps(
        self, x: Float[Array, " d_in"], taps: tuple[Array, ...] | None
    ) -> tuple[Float[Array, " d_out"], tuple[Array, ...]]:
        """Forward pass that adds ``taps[l]`` to each pre-activation ``z_l``.

        Returns the output and the input ``a_l`` of every layer. Differentiating the output with
        respect to zero taps gives the backprop vectors ``d f / d z_l`` in one reverse pass.
        """
        phi = ACTIVATIONS[self.activation]
        a = x
        inputs = []
        for index, layer in enumerate(self.layers):
            inputs.append(a)
            z = layer(a)
            if taps is not None:
                z = z + taps[index]
            a = z if index == len(self.layers) - 1 else phi(z)
        return a, tuple(inputs)

    def dense_layer_factors(
        self, xs: Float[Array, "n d_in"]
    ) -> tuple[Float[Array, "n d_out"], tuple[DenseFactors, ...]]:
        """Outputs on a batch and the :class:`DenseFactors` of every layer.

        Cost: one forward pass and ``d_out`` reverse passes over the batch (vmapped over the
        output index), never the Jacobian itself.
        """
        n = xs.shape[0]
        zero_taps = tuple(jnp.zeros((n, layer.fan_out), xs.dtype) for layer in self.layers)

        def batched(taps: tuple[Array, ...]) -> tuple[Array, tuple[Array, ...]]:
            return jax.vmap(self.forward_with_taps)(xs, taps)

        outputs, pullback, inputs = jax.vjp(batched, zero_taps, has_aux=True)
        d_out = outputs.shape[-1]

        def grads_for_output(unit: Array) -> tuple[Array, ...]:
            return pullback(jnp.broadcast_to(unit, outputs.shape))[0]

        per_layer = jax.vmap(grads_for_output)(jnp.eye(d_out, dtype=outputs.dtype))
        factors = []
        for grads, layer_inputs, layer in zip(per_layer, inputs, self.layers, strict=True):
            weight_gain, bias_gain = layer.gains()
            has_bias = layer.bias is not None
            factors.append(
                DenseFactors(grads, layer_inputs, weight_gain, bias_gain if has_bias else None)
            )
        return outputs, tuple(factors)


def make_mlp(
    key: PRNGKeyArray,
    sizes: tuple[int, ...] | list[int],
    *,
    activation: Activation = "tanh",
    initializer: Initializer = "kaiming_uniform",
    bias_init: BiasInit = "zeros",
    use_bias: bool = True,
    parametrisation: Parametrisation = "standard",
    bias_scale: float = 1.0,
    alpha: float = 1.0,
    alpha_scope: AlphaScope = "weights",
    output_gain: float = 1.0,
    dtype: Any = None,
) -> MLP:
    """Build an MLP with layer sizes ``sizes = (d_in, h_1, ..., d_out)``.

    Args:
        initializer: weight distribution. ``kaiming_uniform`` follows Flax (He uniform,
            ``U(+-sqrt(6/fan_in))``); ``torch_default`` is PyTorch's ``nn.Linear``
            (``U(+-1/sqrt(fan_in))``); ``normal`` is N(0, 1), the NTK parametrisation's draw.
        bias_init: ``zeros``; ``uniform_fan_in`` = ``U(+-1/sqrt(fan_in))`` (PyTorch's bias rule);
            ``normal`` = N(0, 1).
        parametrisation: ``standard``, ``ntk`` (forward gains ``1/sqrt(fan_in)`` on weights and
            ``bias_scale`` (beta) on biases) or ``mean_field`` (as ``ntk``, but ``1/fan_in`` on
            the readout's weights).
        output_gain: multiplies the readout's output, as a traced :class:`Scale` (a sweep over
            it compiles once), except in the standard parametrisation at 1.0: there the readout
            stays a plain ``W a + b``, with no runtime factor that would change XLA's fusions
            and the last bits of the results of every ordinary network.
        alpha: initial scale multiplying the drawn parameters (Omnigrok's ``initialization_scale``).
        alpha_scope: ``weights`` scales weight matrices only; ``all`` scales biases too.
    """
    if len(sizes) < 2:
        raise ValueError(f"an MLP needs at least input and output sizes, got {sizes}")
    for name, value, allowed in (
        ("activation", activation, Activation),
        ("initializer", initializer, Initializer),
        ("bias_init", bias_init, BiasInit),
        ("parametrisation", parametrisation, Parametrisation),
        ("alpha_scope", alpha_scope, AlphaScope),
    ):
        if value not in get_args(allowed):
            raise ValueError(f"{name}={value!r}; expected one of {get_args(allowed)}")
    dtype = dtype or jnp.zeros(()).dtype  # float32, or float64 under jax_enable_x64
    layers = []
    keys = jax.random.split(key, 2 * (len(sizes) - 1))
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        w_key, b_key = keys[2 * index], keys[2 * index + 1]
        weight = _INITIALIZERS[initializer](w_key, (fan_out, fan_in), dtype) * alpha
        bias = None
        if use_bias:
            if bias_init == "zeros":
                bias = jnp.zeros((fan_out,), dtype)
            elif bias_init == "uniform_fan_in":
                bound = 1.0 / math.sqrt(fan_in)
                bias = jax.random.uniform(b_key, (fan_out,), dtype, -bound, bound)
            else:
                bias = jax.random.normal(b_key, (fan_out,), dtype)
            if alpha_scope == "all":
                bias = bias * alpha
        readout = index == len(sizes) - 2
        weight_gain, bias_gain = 1.0, 1.0
        if parametrisation != "standard":
            weight_gain, bias_gain = 1.0 / math.sqrt(fan_in), bias_scale
            if parametrisation == "mean_field" and readout:
                weight_gain = 1.0 / fan_in
        # the readout's traced gain; a standard net at gain 1 keeps a plain affine readout
        plain = parametrisation == "standard" and output_gain == 1.0
        gain = Scale.of(output_gain) if readout and not plain else None
        layers.append(Dense(weight, bias, weight_gain, bias_gain, gain))
    return MLP(layers=tuple(layers), activation=activation)


class MeanFieldNetwork(eqx.Module):
    """Two-layer mean-field network with unit readouts (Kumar et al. 2024, section 5):

    ``f(x) = (1/N) sum_{i=1..N} phi(w_i . x / sqrt(D))``,  ``phi(h) = h + (epsilon/2) h^2``

    with ``W = (w_1, ..., w_N)^T`` of shape ``(N, D)`` the only parameters (Kumar's readout vector
    is in their parameter list but unused). Output shape ``(1,)``. Its Jacobian is one dense
    layer's: ``df/dW = g a^T`` with ``a = x`` (gain ``1/sqrt(D)``) and ``g_i = phi'(h_i) / N =
    (1 + epsilon h_i) / N``, so :func:`core.curvature.gram.structured_gram` gives
    ``K = (X X^T / D) (.) (G G^T)`` without forming ``J``.
    """

    weight: Float[Array, "n d"]
    epsilon: float = eqx.field(static=True)

    @property
    def gain(self) -> float:
        """``1/sqrt(D)``, from the shape: a Python float (shapes are static anyway)."""
        return 1.0 / math.sqrt(self.weight.shape[1])

    def __call__(self, x: Float[Array, " d"]) -> Float[Array, " 1"]:
        h = self.gain * (self.weight @ x)
        return jnp.mean(h + 0.5 * self.epsilon * h**2)[None]

    def dense_layer_factors(self, xs: Float[Array, "n d"]) -> tuple[Array, tuple[DenseFactors]]:
        h = self.gain * (xs @ self.weight.T)  # (n, N)
        width = self.weight.shape[0]
        outputs = jnp.mean(h + 0.5 * self.epsilon * h**2, axis=1, keepdims=True)
        grads = ((1.0 + self.epsilon * h) / width)[None]  # (1, n, N)
        factor = DenseFactors(grads, xs, weight_gain=self.gain, bias_gain=None)
        return outputs, (factor,)


def make_mean_field(
    key: PRNGKeyArray, input_dim: int, width: int, epsilon: float, dtype: Any = None
) -> MeanFieldNetwork:
    """:class:`MeanFieldNetwork` with ``W_ij ~ N(0, 1)`` (Kumar et al.'s draw)."""
    dtype = dtype or jnp.zeros(()).dtype
    return MeanFieldNetwork(jax.random.normal(key, (width, input_dim), dtype), float(epsilon))


class Frozen(eqx.Module):
    """Marks a sub-pytree as not trainable: :func:`partition_trainable` puts it in the static half,
    and calls through it see ``stop_gradient``."""

    value: Any

    def get(self) -> Any:
        return jax.tree.map(jax.lax.stop_gradient, self.value)


class CenteredModel(eqx.Module):
    """Lazy-training output scaling (Chizat, Oyallon and Bach 2019):

    ``g(x; theta) = alpha * (f(x; theta) - f(x; theta_0))``

    with ``theta_0`` a frozen copy of the initial parameters, so ``g = 0`` at initialisation and
    the tangent kernel is ``alpha^2`` times that of ``f``. ``alpha`` is a traced :class:`Scale`.
    """

    model: Callable[[Array], Array]
    reference: Frozen
    alpha: Scale = eqx.field(converter=Scale.of)

    @classmethod
    def around(cls, model: Callable[[Array], Array], alpha: float | Scale) -> CenteredModel:
        """Centre ``model`` at its current parameters."""
        return cls(model=model, reference=Frozen(model), alpha=Scale.of(alpha))

    def __call__(self, x: Array) -> Array:
        return self.alpha.value * (self.model(x) - self.reference.get()(x))

    def dense_layer_factors(self, xs: Array) -> tuple[Array, tuple[DenseFactors, ...]]:
        """Factors of the centred model: only ``model`` is trainable; gradients scale by alpha."""
        outputs, factors = self.model.dense_layer_factors(xs)  # type: ignore[attr-defined]
        reference_outputs = jax.vmap(self.reference.get())(xs)
        alpha = self.alpha.value
        scaled = tuple(
            eqx.tree_at(lambda f: f.output_grads, factor, alpha * factor.output_grads)
            for factor in factors
        )
        return alpha * (outputs - reference_outputs), scaled


class LinearizedModel(eqx.Module):
    """First-order Taylor model around ``theta_0`` (the exact lazy regime, paper eq. 5):

    ``f_lin(x; theta) = f(x; theta_0) + J_0(x) (theta - theta_0)``

    computed with one forward-mode product (no Jacobian). Its tangent kernel is ``K_0`` at every
    ``theta``, so the lemmas' linear dynamics hold exactly.
    """

    model: Callable[[Array], Array]
    reference: Frozen

    @classmethod
    def around(cls, model: Callable[[Array], Array]) -> LinearizedModel:
        return cls(model=model, reference=Frozen(model))

    def __call__(self, x: Array) -> Array:
        reference = self.reference.get()
        current = eqx.filter(self.model, eqx.is_inexact_array)
        delta = jax.tree.map(
            lambda a, b: a - b, current, eqx.filter(reference, eqx.is_inexact_array)
        )
        out, tangent = eqx.filter_jvp(lambda m: m(x), (reference,), (delta,))
        return out + tangent

    def dense_layer_factors(self, xs: Array) -> tuple[Array, tuple[DenseFactors, ...]]:
        """The Jacobian is ``J_0`` everywhere: factors of the reference, outputs of ``f_lin``."""
        _, factors = self.reference.get().dense_layer_factors(xs)
        return jax.vmap(self)(xs), factors


def partition_trainable(model: eqx.Module) -> tuple[Any, Any]:
    """Split a model into ``(params, static)`` for optax: floating arrays outside :class:`Frozen`
    and :class:`Scale`.

    Recombine with ``eqx.combine(params, static)``. The static half still holds arrays (the
    frozen reference, the scales): passed to a jitted function, they are traced, not baked in.
    """
    is_frozen = lambda node: isinstance(node, (Frozen, Scale))  # noqa: E731
    spec = jax.tree.map(
        lambda leaf: False if is_frozen(leaf) else eqx.is_inexact_array(leaf),
        model,
        is_leaf=is_frozen,
    )
    return eqx.partition(model, spec, is_leaf=is_frozen)


def parameter_count(params: Any) -> int:
    """Number of scalar entries in the floating arrays of a pytree."""
    return sum(int(leaf.size) for leaf in jax.tree.leaves(params) if eqx.is_inexact_array(leaf))
