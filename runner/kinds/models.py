"""Model kinds (``model: {kind: ...}``): the network a cell trains.

Each kind holds its fields, says what it ``needs`` from the task (see :mod:`runner.kinds.base`),
builds its Equinox model with :meth:`ModelKind.build`, and pairs it with the spec's loss in
:meth:`ModelKind.objective` (the ``linear`` model is its own objective). ``core`` is imported
inside the methods, so validating a spec never imports JAX.

Adding a kind: a class here and one line in :data:`MODEL_KINDS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from runner.kinds.base import Part

if TYPE_CHECKING:
    from runner.kinds.losses import LossKind
    from runner.kinds.tasks import Problem


class ModelKind(Part):
    """A model: its fields, what it needs from the task, the network it builds."""

    kind: str

    def build(self, problem: Problem, key: Any) -> Any:
        """The Equinox model for ``problem``, initialised from ``key``."""
        raise NotImplementedError

    def objective(self, loss: LossKind, problem: Problem, key: Any) -> tuple[Any, Any]:
        """``(objective, params)``: the model built, its trainable parameters split from the
        rest, and the loss's objective over the rest."""
        from core import models

        params, static = models.partition_trainable(self.build(problem, key))
        return loss.objective(static), params


class MLPModel(ModelKind):
    """:func:`core.models.make_mlp` with ``hidden`` layer widths between the task's input and
    output sizes; ``output_gain`` multiplies the readout (uncentred, e.g. Kumar et al.'s ``s^2``);
    ``output_scale`` wraps it as ``output_scale * (f(theta) - f(theta_0))``; ``linearized`` trains
    its first-order Taylor model around ``theta_0`` (the exact lazy regime).
    ``parametrisation: mean_field`` divides the readout by its fan-in (``1/N``) and the hidden
    layers by ``sqrt(fan_in)``."""

    kind: Literal["mlp"]
    example: ClassVar[dict[str, Any]] = {"hidden": [8]}
    hidden: list[Annotated[int, Field(ge=1)]] = Field(
        min_length=1, description="widths of the hidden layers"
    )
    activation: Literal["tanh", "relu", "quadratic"] = Field(
        "tanh", description="the hidden layers' nonlinearity"
    )
    initializer: Literal[
        "glorot_normal", "glorot_uniform", "kaiming_uniform", "torch_default", "normal"
    ] = Field("kaiming_uniform", description="how the weights are drawn")
    bias_init: Literal["zeros", "uniform_fan_in", "normal"] = Field(
        "zeros", description="how the biases are drawn"
    )
    use_bias: bool = Field(True, description="layers have biases")
    parametrisation: Literal["standard", "ntk", "mean_field"] = Field(
        "standard",
        description="standard, ntk (layers scaled by 1/sqrt(fan_in)) or mean_field (readout by "
        "1/fan_in)",
    )
    bias_scale: float = Field(1.0, description="multiplies the drawn biases")
    alpha: float = Field(1.0, gt=0, description="initial scale of the drawn parameters")
    alpha_scope: Literal["weights", "all"] = Field(
        "weights", description="which drawn parameters alpha scales"
    )
    output_gain: float = Field(1.0, gt=0, description="multiplies the readout (uncentred)")
    output_scale: float | None = Field(
        None, gt=0, description="trains output_scale * (f(theta) - f(theta_0)) (centred)"
    )
    linearized: bool = Field(False, description="train the first-order Taylor model at theta_0")
    needs: ClassVar = frozenset({"vector_inputs"})

    def build(self, problem, key):
        from core import models

        inputs, _ = problem.train_data
        net: Any = models.make_mlp(
            key,
            (inputs.shape[1], *self.hidden, problem.output_dim),
            activation=self.activation,
            initializer=self.initializer,
            bias_init=self.bias_init,
            use_bias=self.use_bias,
            parametrisation=self.parametrisation,
            bias_scale=self.bias_scale,
            alpha=self.alpha,
            alpha_scope=self.alpha_scope,
            output_gain=self.output_gain,
        )
        if self.linearized:
            net = models.LinearizedModel.around(net)
        if self.output_scale is not None:
            net = models.CenteredModel.around(net, self.output_scale)
        return net


class LinearModel(ModelKind):
    """``f = J theta`` for the ``random_jacobian`` task (parameters start at zero)."""

    kind: Literal["linear"]
    example: ClassVar[dict[str, Any]] = {}
    needs: ClassVar = frozenset({"linear_system"})

    def objective(self, loss, problem, key):
        import jax.numpy as jnp

        from core.objectives import LinearLeastSquares

        objective = LinearLeastSquares(
            static=None,
            jacobian=problem.linear.jacobian,
            targets=problem.linear.targets,
            convention=loss.residual_convention,
        )
        return objective, jnp.zeros(problem.linear.jacobian.shape[1])


class MeanFieldModel(ModelKind):
    """``alpha (f(x; W) - f(x; W_0))`` with ``f = mean_{i<=width} phi(w_i . x / sqrt(D))``,
    ``phi(h) = h + (epsilon/2) h^2`` and ``W_ij ~ N(0, 1)`` (Kumar et al. section 5;
    :class:`core.models.MeanFieldNetwork`), always centred at initialisation. Pair it with
    ``loss.scale: alpha`` for the lazy-training objective."""

    kind: Literal["mean_field"]
    example: ClassVar[dict[str, Any]] = {"width": 8}
    width: int = Field(500, ge=1, description="hidden units")
    epsilon: float = Field(0.25, description="quadratic part of the activation")
    alpha: float = Field(1.0, gt=0, description="output scale of the centred network")
    needs: ClassVar = frozenset({"vector_inputs", "one_output"})

    def build(self, problem, key):
        from core import models

        inputs, _ = problem.train_data
        net = models.make_mean_field(key, inputs.shape[1], self.width, self.epsilon)
        return models.CenteredModel.around(net, self.alpha)


class TransformerModel(ModelKind):
    """:func:`core.transformer.make_transformer`: a decoder-only transformer with a causal mask
    and an untied unembedding, returning the logits at the task's loss positions. Defaults are
    grok's (Power et al. 2022): 2 blocks, d_model 128, 4 heads, FFN 512 (ReLU), post-LayerNorm,
    no biases in the linear layers, fixed sinusoidal positions
    (docs/paper-notes.md#transformer)."""

    kind: Literal["transformer"]
    example: ClassVar[dict[str, Any]] = {"layers": 1, "d_model": 8, "heads": 2, "d_ffn": 16}
    layers: int = Field(2, ge=1, description="transformer blocks")
    d_model: int = Field(128, ge=2, description="width of the residual stream")
    heads: int = Field(4, ge=1, description="attention heads (must divide d_model)")
    d_ffn: int = Field(512, ge=1, description="width of the feed-forward layer")
    norm: Literal["post", "pre"] = Field("post", description="LayerNorm after or before")
    use_bias: bool = Field(False, description="biases in the linear layers")
    positions: Literal["sinusoidal", "learned"] = Field(
        "sinusoidal", description="fixed sinusoidal or learned position embeddings"
    )
    needs: ClassVar = frozenset({"tokens"})

    @model_validator(mode="after")
    def _heads_divide(self) -> TransformerModel:
        if self.d_model % self.heads:
            raise ValueError(f"d_model {self.d_model} is not a multiple of heads {self.heads}")
        return self

    def build(self, problem, key):
        from core import transformer

        tokens = problem.tokens
        # the spec's fields are the constructor's keywords
        return transformer.make_transformer(
            key,
            vocab_size=tokens.vocab_size,
            sequence_length=tokens.sequence_length,
            readout=tokens.readout,
            **self.model_dump(exclude={"kind"}),
        )


MODEL_KINDS: tuple[type[ModelKind], ...] = (
    MLPModel,
    LinearModel,
    MeanFieldModel,
    TransformerModel,
)
