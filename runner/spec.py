"""The experiment spec: a Pydantic v2 model of one YAML file.

Every model forbids unknown keys and is frozen; variants are discriminated unions on ``kind``.
A spec names its optimizers (``optimizers: {gd: {...}, lm_01: {...}}``), its observables
(``observables: {gn_rates: {...}}``) and lists its claims; claims select cells with ``where``
(``{optimizer: gn, model.alpha: 2}``) and refer to observables by name.

Profiles (``smoke``, ``default``, ``paper``) are partial specs merged over the base before
validation (:mod:`runner.load`), so a profile is checked by the same model as the spec itself.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

PROFILE_NAMES = ("smoke", "default", "paper")
CLASSIFICATION_TASKS = ("modular_addition", "modular_addition_tokens", "mnist")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- tasks -------------------------------------------------------------------------------------


class Regression1D(Strict):
    """``u(x) = (1/3) sum_k k sin((2k+1) pi x - k)`` on ``points`` grid points of [0, 1] (Fig 3)."""

    kind: Literal["regression_1d"]
    points: int = Field(100, ge=4)


class Regression2D(Strict):
    """The discontinuous target of eq. (7) on a ``points_per_side^2`` grid of [0, 1]^2 (Fig 9)."""

    kind: Literal["regression_2d"]
    points_per_side: int = Field(40, ge=4)


class RandomJacobianTask(Strict):
    """A linear least-squares problem ``r(theta) = J theta - y`` with ``J = U diag(s) V^T``:
    ``residuals x parameters``, singular values log-spaced from ``singular_max`` to ``singular_min``
    (EXPERIMENTS.md section 10); ``J``, ``U``, ``V`` and ``y`` drawn from the cell's seed."""

    kind: Literal["random_jacobian"]
    residuals: int = Field(40, ge=2)
    parameters: int = Field(300, ge=2)
    singular_max: float = Field(1e2, gt=0)
    singular_min: float = Field(1e-4, gt=0)


class Poisson(Strict):
    """``-Laplace(u) = f`` on the unit square, ``u = 0`` on the boundary, exact solution
    ``sin(n pi x) sin(m pi y)`` (section 4.2, Fig. 4; :mod:`core.pde`). Collocation points:
    ``interior`` uniform in the square and ``boundary_per_edge`` uniform on each edge, drawn from
    the cell's seed; metrics use a ``grid_points_per_side^2`` grid and the exact solution."""

    kind: Literal["poisson"]
    n: int = Field(1, ge=1)
    m: int = Field(1, ge=1)
    interior: int = Field(640, ge=1)
    boundary_per_edge: int = Field(10, ge=1)
    grid_points_per_side: int = Field(64, ge=4)


class ModularAddition(Strict):
    """``a + b = c (mod modulus)`` on all ``modulus^2`` pairs: input ``[onehot(a), onehot(b)]``,
    target ``onehot(c)`` (Kumar et al.; EXPERIMENTS.md section 4). A permutation drawn from
    ``split_seed`` (null: the cell's seed) puts the first ``int(train_fraction * modulus^2)`` pairs
    in the training set and the rest in the test set (the evaluation set of the metrics)."""

    kind: Literal["modular_addition"]
    modulus: int = Field(23, ge=2)
    train_fraction: float = Field(0.9, gt=0, lt=1)
    split_seed: int | None = 1


class ModularAdditionTokens(Strict):
    """Every equation ``a + b = c (mod p)`` as the 7 tokens ``<eos> a + b = c <eos>`` (Power et
    al. 2022, EXPERIMENTS.md section 8), for the ``transformer`` model: the input is the first 6
    tokens, position ``i`` predicts token ``i + 1``. ``loss_positions`` says which predictions
    carry the loss and the accuracy: ``rhs`` (grok) those of ``c`` and the final ``<eos>``,
    ``equals`` only ``c``. The equations are split by a permutation seeded with ``split_seed``
    (null: the cell's seed); the first ``round(train_fraction p^2)`` train."""

    kind: Literal["modular_addition_tokens"]
    modulus: int = Field(97, ge=2)
    train_fraction: float = Field(0.5, gt=0, lt=1)
    split_seed: int | None = 0
    loss_positions: Literal["rhs", "equals"] = "rhs"


class Polynomial(Strict):
    """The single-index quadratic teacher ``y(x) = (beta . x / sqrt(D))^2`` with ``x ~ N(0, I_D)``
    and ``beta ~ N(0, I_D)`` (Kumar et al. section 5; EXPERIMENTS.md section 5): ``train`` and
    ``test`` inputs drawn from ``data_seed`` (null: the cell's seed); the test set is the
    evaluation set of the metrics."""

    kind: Literal["polynomial"]
    dimension: int = Field(100, ge=1)
    train: int = Field(450, ge=1)
    test: int = Field(1000, ge=1)
    data_seed: int | None = 0


class MNIST(Strict):
    """MNIST digits, inputs ``pixels / 255`` (average-pooled ``pool x pool``: 1 keeps the 784
    pixels, 2 gives the 14 x 14 CPU variant of EXPERIMENTS.md section 6), targets one-hot (10).

    ``source``: ``shipped`` the 10 000 digits inside the package (``core/data/MNIST_NOTICE.md``),
    split by a permutation from ``numpy.random.default_rng(split_seed)``: the first ``train`` train,
    the next ``test`` (null: all the rest) test. ``full`` the standard MNIST from ``path``,
    ``$PGDLAB_DATA`` or the usual cache folders (``runner data`` says which), split as Omnigrok:
    the first ``train`` training images and the first ``test`` (null: all 10 000) test images.
    ``auto``: full MNIST if found, else the shipped digits. The source used is recorded in
    ``env.json`` and the report."""

    kind: Literal["mnist"]
    source: Literal["auto", "shipped", "full"] = "auto"
    path: str | None = Field(None, description="a folder of IDX files or a mnist.npz")
    train: int = Field(1000, ge=1)
    test: int | None = Field(None, ge=1)
    pool: Literal[1, 2, 4, 7] = 1
    split_seed: int = 0

    @model_validator(mode="after")
    def _sizes(self) -> MNIST:
        if self.source == "shipped" and self.train + (self.test or 1) > 10_000:
            raise ValueError(
                f"the shipped set has 10 000 digits: train {self.train} + test "
                f"{self.test or 'the rest'} does not fit"
            )
        return self


Task = Annotated[
    Regression1D
    | Regression2D
    | RandomJacobianTask
    | Poisson
    | ModularAddition
    | ModularAdditionTokens
    | Polynomial
    | MNIST,
    Field(discriminator="kind"),
]


# --- models ------------------------------------------------------------------------------------


class MLPModel(Strict):
    """:func:`core.models.make_mlp` with ``hidden`` layer widths between the task's input and
    output sizes; ``output_gain`` multiplies the readout (uncentred, e.g. Kumar et al.'s ``s^2``);
    ``output_scale`` wraps it as ``output_scale * (f(theta) - f(theta_0))``; ``linearized`` trains
    its first-order Taylor model around ``theta_0`` (the exact lazy regime).
    ``parametrisation: mean_field`` divides the readout by its fan-in (``1/N``) and the hidden
    layers by ``sqrt(fan_in)``."""

    kind: Literal["mlp"]
    hidden: list[Annotated[int, Field(ge=1)]] = Field(min_length=1)
    activation: Literal["tanh", "relu", "quadratic"] = "tanh"
    initializer: Literal[
        "glorot_normal", "glorot_uniform", "kaiming_uniform", "torch_default", "normal"
    ] = "kaiming_uniform"
    bias_init: Literal["zeros", "uniform_fan_in", "normal"] = "zeros"
    use_bias: bool = True
    parametrisation: Literal["standard", "ntk", "mean_field"] = "standard"
    bias_scale: float = 1.0
    alpha: float = Field(1.0, gt=0, description="initial scale of the drawn parameters")
    alpha_scope: Literal["weights", "all"] = "weights"
    output_gain: float = Field(1.0, gt=0)
    output_scale: float | None = Field(None, gt=0)
    linearized: bool = False


class LinearModel(Strict):
    """``f = J theta`` for the ``random_jacobian`` task (parameters start at zero)."""

    kind: Literal["linear"]


class MeanFieldModel(Strict):
    """``alpha (f(x; W) - f(x; W_0))`` with ``f = mean_{i<=width} phi(w_i . x / sqrt(D))``,
    ``phi(h) = h + (epsilon/2) h^2`` and ``W_ij ~ N(0, 1)`` (Kumar et al. section 5;
    :class:`core.models.MeanFieldNetwork`), always centred at initialisation. Pair it with
    ``loss.scale: alpha`` for the lazy-training objective."""

    kind: Literal["mean_field"]
    width: int = Field(500, ge=1)
    epsilon: float = 0.25
    alpha: float = Field(1.0, gt=0)


class TransformerModel(Strict):
    """:func:`core.transformer.make_transformer`: a decoder-only transformer with a causal mask
    and an untied unembedding, returning the logits at the task's loss positions. Defaults are
    grok's (Power et al. 2022): 2 blocks, d_model 128, 4 heads, FFN 512 (ReLU), post-LayerNorm,
    no biases in the linear layers, fixed sinusoidal positions (EXPERIMENTS.md section 8)."""

    kind: Literal["transformer"]
    layers: int = Field(2, ge=1)
    d_model: int = Field(128, ge=2)
    heads: int = Field(4, ge=1)
    d_ffn: int = Field(512, ge=1)
    norm: Literal["post", "pre"] = "post"
    use_bias: bool = False
    positions: Literal["sinusoidal", "learned"] = "sinusoidal"

    @model_validator(mode="after")
    def _heads_divide(self) -> TransformerModel:
        if self.d_model % self.heads:
            raise ValueError(f"d_model {self.d_model} is not a multiple of heads {self.heads}")
        return self


Model = Annotated[
    MLPModel | LinearModel | MeanFieldModel | TransformerModel, Field(discriminator="kind")
]


# --- loss --------------------------------------------------------------------------------------


class MSELoss(Strict):
    """Mean-squared error over every residual entry. ``convention`` says which Jacobian LM's
    ``damping`` and GN's ``eps`` refer to (EXPERIMENTS.md section 0.2): ``loss`` passes
    ``sqrt(2/m) (f - y)`` (GN matrix of the mean loss), ``raw`` passes ``f - y``."""

    kind: Literal["mse"]
    convention: Literal["loss", "raw"] = "loss"
    scale: float = Field(
        1.0,
        gt=0,
        description="divides the residual (so the loss by scale^2): the lazy-training objective "
        "(1/alpha^2) R(alpha h) of Chizat et al. with scale = alpha",
    )


class PinnLoss(Strict):
    """``mean_i r_i^2`` of the PINN residuals (``Laplace(u) + f`` inside, ``u`` on the boundary)
    over the points of a batch; ``convention`` as for ``mse`` (``loss``: ``r`` scaled by
    ``sqrt(2/m)``)."""

    kind: Literal["pinn"]
    convention: Literal["loss", "raw"] = "loss"


class CrossEntropyLoss(Strict):
    """Mean softmax cross-entropy of the model's outputs (logits) against one-hot targets
    (tasks ``mnist`` and ``modular_addition``). Pairs with the ``gd``, ``adam``, ``adamw`` and
    ``ggn`` optimizers (LM and GN need residuals: ``mse``)."""

    kind: Literal["cross_entropy"]


Loss = Annotated[MSELoss | PinnLoss | CrossEntropyLoss, Field(discriminator="kind")]


# --- optimizers --------------------------------------------------------------------------------


class LogLinear(Strict):
    """``start * (end / start) ** min(i / steps, 1)`` (EXPERIMENTS.md section 0.3)."""

    kind: Literal["log_linear"]
    start: float = Field(gt=0)
    end: float = Field(gt=0)
    steps: int = Field(ge=1)


ScalarOrSchedule = Annotated[float, Field(gt=0)] | LogLinear


class TrainOverride(Strict):
    """Per-optimizer changes to ``train`` (e.g. LM needs far fewer steps than GD)."""

    steps: int | None = Field(None, ge=1)
    eval_every: int | None = Field(None, ge=1)
    batch_size: int | None = Field(None, ge=1)


class OptimizerBase(Strict):
    train: TrainOverride | None = Field(
        None, description="overrides of the spec's train settings for this optimizer's cells"
    )


class GD(OptimizerBase):
    """Plain (full- or mini-batch) gradient descent, ``theta <- theta - lr grad L``;
    ``weight_decay`` adds ``wd theta`` to the gradient first (PyTorch SGD's coupled form)."""

    kind: Literal["gd"]
    learning_rate: float = Field(gt=0)
    momentum: float | None = Field(None, ge=0, lt=1)
    weight_decay: float | None = Field(None, ge=0)


class Adam(OptimizerBase):
    """Adam (optax). ``warmup_steps``: the learning rate grows linearly, ``lr min(1, (i + 1) / w)``
    at step ``i`` (0-based), so the first step already moves (grok warms up over 10 steps)."""

    kind: Literal["adam"]
    learning_rate: float = Field(gt=0)
    b1: float = Field(0.9, ge=0, lt=1)
    b2: float = Field(0.999, ge=0, lt=1)
    eps: float = Field(1e-8, gt=0)
    warmup_steps: int = Field(0, ge=0)


class AdamW(OptimizerBase):
    """AdamW (optax, decoupled weight decay ``lr wd theta``); ``warmup_steps`` as for Adam (the
    decay follows the warmed-up rate)."""

    kind: Literal["adamw"]
    learning_rate: float = Field(gt=0)
    b1: float = Field(0.9, ge=0, lt=1)
    b2: float = Field(0.999, ge=0, lt=1)
    eps: float = Field(1e-8, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    warmup_steps: int = Field(0, ge=0)


class LM(OptimizerBase):
    """Levenberg-Marquardt ``theta <- theta - lr J^T (mu I + J J^T)^{-1} r``."""

    kind: Literal["lm"]
    learning_rate: float = Field(gt=0)
    damping: ScalarOrSchedule
    solver: Literal["cholesky", "eigh", "cg"] = "cholesky"
    gram: Literal["auto", "structured", "jacobian", "matrix_free"] = "auto"
    cg_max_iterations: int = Field(30, ge=1)
    cg_tol: float = Field(1e-6, ge=0)
    cg_tol_kind: Literal["relative", "absolute"] = "relative"


class GN(OptimizerBase):
    """Gauss-Newton with a pseudo-inverse cut-off on the eigenvalues of ``J J^T``."""

    kind: Literal["gn"]
    learning_rate: float = Field(gt=0)
    eps: float = Field(gt=0)
    cutoff: Literal["absolute", "relative"] = "absolute"
    solver: Literal["eigh", "svd"] = "eigh"


class GGN(OptimizerBase):
    """Generalized Gauss-Newton for cross-entropy (App. B, C): the direction
    ``d = (mu I + (1/N) J^T H J)^{-1} g`` by CG (``H = diag(p) - p p^T`` per sample, matrix-free
    jvp -> H -> vjp), then ``theta <- theta - eta d`` with ``eta = learning_rate`` (``search:
    fixed``) or Armijo backtracking from ``learning_rate`` (``search: armijo``), then the
    decoupled weight decay ``theta <- theta - learning_rate * weight_decay * theta`` (AdamW's
    form; how the paper applies weight decay to GGN is not stated, EXPERIMENTS.md section 7).

    Armijo tries ``eta_j = learning_rate tau^j``, ``j = 0 .. max_halvings``, and takes the first
    with ``L(theta - eta d) <= L(theta) - c eta g.d`` on the same batch. When none passes (the
    paper does not say), ``on_failure: smallest`` takes the last, smallest trial and ``skip``
    takes no step; ``search/accepted`` records which happened. CG stops at ``cg_max_iterations``
    or when ``||res|| <= cg_tol`` (``cg_tol_kind: absolute``) or ``<= cg_tol ||g||``
    (``relative``, the default: the paper's "residual threshold 1e-6" does not say which)."""

    kind: Literal["ggn"]
    learning_rate: float = Field(gt=0)
    damping: ScalarOrSchedule
    weight_decay: float = Field(0.0, ge=0)
    search: Literal["fixed", "armijo"] = "fixed"
    cg_max_iterations: int = Field(50, ge=1)
    cg_tol: float = Field(1e-6, ge=0)
    cg_tol_kind: Literal["relative", "absolute"] = "relative"
    armijo_c: float = Field(1e-4, gt=0, lt=1)
    armijo_tau: float = Field(0.5, gt=0, lt=1)
    max_halvings: int = Field(10, ge=0)
    on_failure: Literal["smallest", "skip"] = "smallest"


class Switch(OptimizerBase):
    """``first`` for ``at`` steps, then ``second`` with a fresh state."""

    kind: Literal["switch"]
    first: Optimizer
    second: Optimizer
    at: int = Field(ge=1)

    @model_validator(mode="after")
    def _no_inner_train(self) -> Switch:
        for side in ("first", "second"):
            if getattr(self, side).train is not None:
                raise ValueError(f"{side}.train: set train on the switch itself")
        return self


Optimizer = Annotated[GD | Adam | AdamW | LM | GN | GGN | Switch, Field(discriminator="kind")]
Switch.model_rebuild()


# --- training and metrics ----------------------------------------------------------------------


class Train(Strict):
    steps: int = Field(ge=1)
    eval_every: int = Field(ge=1)
    batch_size: int | None = Field(None, ge=1, description="null: full batch")
    precision: Literal["float32", "float64"] = "float32"


class MetricBase(Strict):
    """``name``: the key the metric is recorded under (observables, figures and claims use it);
    default: its ``kind``, prefixed ``train_`` when it is measured ``on: train``."""

    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$")


EvalSet = Literal["eval", "train"]
_ON = Field(
    "eval",
    description="eval: the task's evaluation set (the test set of modular_addition and "
    "polynomial, the grid of the regressions, the exact-solution grid of the PINN); train: the "
    "training set",
)


class MSEMetric(MetricBase):
    """Mean-squared error of the model output against the targets."""

    kind: Literal["mse"]
    on: EvalSet = _ON


class RelativeL2Metric(MetricBase):
    """``||f - y|| / ||y||``."""

    kind: Literal["rel_l2"]
    on: EvalSet = _ON


class AccuracyMetric(MetricBase):
    """Fraction of samples whose largest output is the target's largest entry (one-hot
    targets)."""

    kind: Literal["accuracy"]
    on: EvalSet = _ON


class RayFFTErrorMetric(MetricBase):
    """Fig. 6 (right) of the paper: the residual ``rho(c) = f(c v) - y(c v)`` of the (centred)
    model on ``points`` values ``c_j = j / (points - 1)`` along a ray, ``|FFT_k(rho)| / points`` at
    the Nyquist bin ``k = points // 2`` (``bin: nyquist``, the paper's "largest frequency") or the
    largest magnitude over ``k >= 1`` (``bin: largest``). ``ray: train_point`` takes ``v`` =
    training input number ``index``; ``ray: ones`` takes ``v = (1, ..., 1)`` (the paper's test
    direction). Needs a task with a target formula (``polynomial``)."""

    kind: Literal["ray_fft_error"]
    ray: Literal["train_point", "ones"]
    index: int = Field(0, ge=0)
    points: int = Field(100, ge=4)
    bin: Literal["nyquist", "largest"] = "nyquist"


class TrainLossMetric(MetricBase):
    """The training loss on the whole training set (the per-step ``loss`` record is the loss of
    that step's mini-batch)."""

    kind: Literal["train_loss"]


class ObjectiveMetric(MetricBase):
    """The spec's loss (the training objective) on the evaluation set (``on: eval``, e.g. the
    validation cross-entropy of Figs. 8 and 12) or on the whole training set (``on: train``)."""

    kind: Literal["objective"]
    on: EvalSet = _ON


class FFTErrorMetric(MetricBase):
    """``|FFT_k(u - f)| / n`` on the task grid for the ``modes`` lowest frequencies (1-D: bins
    0..modes-1; 2-D: the ``modes`` bins of smallest ``|k|``, one of each conjugate pair ``+-k``,
    labelled ``"kx,ky"``)."""

    kind: Literal["fft_error"]
    modes: int = Field(11, ge=1)


class ModeErrorMetric(MetricBase):
    """``|U_0^T e|``: the error in the eigenmodes of the initial NTK ``K_0`` (largest eigenvalue
    first), the quantity of Lemmas 3.1-3.3. ``modes`` limits how many are kept."""

    kind: Literal["mode_error"]
    modes: int | None = Field(None, ge=1)


class LemmaRateMetric(MetricBase):
    """Per eigenmode of ``K_0``: the contraction rate the lemmas predict for this cell's optimizer,
    ``-ln|1 - lr * map(lambda)|`` with map ``lambda`` (GD), ``lambda / (mu + lambda)`` (LM),
    ``1[lambda > eps]`` (GN). Constant in time; compare with a fitted ``decay_rate``."""

    kind: Literal["lemma_rate"]
    modes: int | None = Field(None, ge=1)


class SpectrumMetric(MetricBase):
    """Eigenvalues of the current NTK ``K_t = J J^T`` (descending), ``modes`` of them."""

    kind: Literal["ntk_spectrum"]
    modes: int | None = Field(None, ge=1)


class ParamDistanceMetric(MetricBase):
    """``||theta_t - theta_0|| / ||theta_0||``: how far training left the initialisation."""

    kind: Literal["param_distance"]


class WeightNormMetric(MetricBase):
    """``sqrt(sum ||p||^2)`` over every trainable parameter (Omnigrok's total weight norm)."""

    kind: Literal["weight_norm"]


class KernelChangeMetric(MetricBase):
    """``||K_t - K_0||_F / ||K_0||_F``: how much the tangent kernel moved (lazy vs rich)."""

    kind: Literal["ntk_change"]


Metric = Annotated[
    MSEMetric
    | RelativeL2Metric
    | AccuracyMetric
    | RayFFTErrorMetric
    | TrainLossMetric
    | ObjectiveMetric
    | FFTErrorMetric
    | ModeErrorMetric
    | LemmaRateMetric
    | SpectrumMetric
    | ParamDistanceMetric
    | WeightNormMetric
    | KernelChangeMetric,
    Field(discriminator="kind"),
]


GRAM_METRIC_KINDS = ("mode_error", "lemma_rate", "ntk_spectrum", "ntk_change")


def metric_key(metric: dict[str, Any] | Strict) -> str:
    """The name a metric is recorded under (see :class:`MetricBase`)."""
    data = metric.model_dump() if isinstance(metric, BaseModel) else metric
    if data.get("name"):
        return str(data["name"])
    return f"train_{data['kind']}" if data.get("on") == "train" else str(data["kind"])


# --- sweep -------------------------------------------------------------------------------------


class Sweep(Strict):
    """Cells = optimizers x sweep points x seeds.

    ``grid`` takes the product of its axes, ``zip`` pairs its lists element by element (all the
    same length), and the two combine as a product. Keys are dotted paths into the spec
    (``model.alpha``, ``optimizers.lm.damping``).
    """

    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    zip: dict[str, list[Any]] = Field(default_factory=dict)

    @field_validator("grid", "zip")
    @classmethod
    def _non_empty_axes(cls, axes: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in axes.items():
            if not values:
                raise ValueError(f"sweep axis {key!r} has no values")
        return axes

    @model_validator(mode="after")
    def _zip_lengths(self) -> Sweep:
        lengths = {len(v) for v in self.zip.values()}
        if len(lengths) > 1:
            raise ValueError(f"zip axes must have equal lengths, got {sorted(lengths)}")
        overlap = set(self.grid) & set(self.zip)
        if overlap:
            raise ValueError(f"keys in both grid and zip: {sorted(overlap)}")
        return self


# --- observables -------------------------------------------------------------------------------


class FinalObservable(Strict):
    """The metric's last evaluated value (per group)."""

    kind: Literal["final"]
    metric: str
    relative_to_initial: bool = False


class ValueAtObservable(Strict):
    """The metric at the last evaluation at or before ``step`` (per group)."""

    kind: Literal["value_at"]
    metric: str
    step: int = Field(ge=0)
    relative_to_initial: bool = False


def _ordered_window(window: tuple[int, int]) -> tuple[int, int]:
    if not 0 <= window[0] < window[1]:
        raise ValueError(f"window must be [start, end] with 0 <= start < end, got {window}")
    return window


# Inclusive ``[start, end]`` steps of an observable's window (decay_rate, window).
StepWindow = Annotated[tuple[int, int], AfterValidator(_ordered_window)]


class DecayRateObservable(Strict):
    """``-slope`` of a least-squares line through ``ln(metric)`` against step over ``window``
    (inclusive), per group: an exponential decay ``e(t) ~ exp(-rate t)`` has rate ``rate``."""

    kind: Literal["decay_rate"]
    metric: str
    window: StepWindow


class CrossingObservable(Strict):
    """First evaluated step at which the metric goes ``below`` (or ``above``) a value; missing
    if it never does. ``relative_to_initial`` divides the metric by its step-0 value first."""

    kind: Literal["crossing"]
    metric: str
    below: float | None = None
    above: float | None = None
    relative_to_initial: bool = False

    @model_validator(mode="after")
    def _one_side(self) -> CrossingObservable:
        if (self.below is None) == (self.above is None):
            raise ValueError("give exactly one of 'below' and 'above'")
        return self


class WindowObservable(Strict):
    """A ``statistic`` of the metric over the evaluations inside ``window`` (inclusive), per
    group: ``max`` (a spike after an optimizer switch, Fig. 12), ``min``, ``mean`` or ``median``
    (a level that a few transient spikes do not move, unlike ``final``). With
    ``relative_to_start`` it is divided by the value at the last evaluation at or before the
    window's start. Missing when training ended, or the cell diverged, before the window's end."""

    kind: Literal["window"]
    metric: str
    window: StepWindow
    statistic: Literal["max", "min", "mean", "median"]
    relative_to_start: bool = False


class DelayObservable(Strict):
    """``end - start`` for two crossing observables named in the spec."""

    kind: Literal["delay"]
    start: str
    end: str


Observable = Annotated[
    FinalObservable
    | ValueAtObservable
    | DecayRateObservable
    | CrossingObservable
    | WindowObservable
    | DelayObservable,
    Field(discriminator="kind"),
]


# --- claims ------------------------------------------------------------------------------------

Where = dict[str, Any]
Comparison = Literal["<", "<=", ">", ">="]
GroupReduce = Literal["all", "any", "max", "min", "median", "mean"]


# A ``where`` maps selector keys (``optimizer``, ``seed``, sweep keys) to a value, or to
# ``{in: [v1, v2, ...]}`` to select any of several values.


class ClaimBase(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    statement: str | None = Field(None, description="the paper's claim in words")
    expected: Literal["pass", "fail"] = "pass"
    min_seeds: int = Field(1, ge=1)
    on_missing: Literal["inconclusive", "fail"] = "inconclusive"
    aggregate: Literal["median", "min", "max", "mean"] = "median"


class Side(Strict):
    """One side of a comparison: an observable in the cells selected by ``where`` (a value per
    key, or ``{in: [...]}`` for any of several)."""

    observable: str
    where: Where = Field(default_factory=dict)


class ThresholdClaim(ClaimBase):
    kind: Literal["threshold"]
    observable: str
    where: Where = Field(default_factory=dict)
    groups: list[str] | None = None
    reduce: GroupReduce = "all"
    op: Comparison
    value: float


class CompareClaim(ClaimBase):
    """``left op factor * right`` (per group, reduced by ``reduce``); with ``for_each`` (a sweep
    key), at every value of that key (both sides restricted to it), and it must hold at all."""

    kind: Literal["compare"]
    left: Side
    right: Side
    op: Comparison
    factor: float = 1.0
    groups: list[str] | None = None
    reduce: Literal["all", "any"] | Annotated[float, Field(gt=0, le=1)] = "all"
    for_each: str | None = None


class OrderingClaim(ClaimBase):
    """The observable is ordered along ``sequence`` (increasing or decreasing) in each group, with
    at most ``max_violations`` groups out of order."""

    kind: Literal["ordering"]
    observable: str
    sequence: list[Where] = Field(min_length=2)
    direction: Literal["increasing", "decreasing"]
    groups: list[str] | None = None
    max_violations: int = Field(0, ge=0)


class RateClaim(ClaimBase):
    """A fitted rate lies within ``rtol`` of ``expected_rate`` (or within [min, max])."""

    kind: Literal["rate"]
    observable: str
    where: Where = Field(default_factory=dict)
    groups: list[str] | None = None
    expected_rate: float | None = None
    rtol: float | None = Field(None, gt=0)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> RateClaim:
        if (self.expected_rate is None) != (self.rtol is None):
            raise ValueError("give expected_rate together with rtol")
        if self.expected_rate is None and self.min is None and self.max is None:
            raise ValueError("give expected_rate with rtol, or min and/or max")
        return self


class UniformAcrossClaim(ClaimBase):
    """The spread of the observable across groups: ``max/min`` ratio or coefficient of variation,
    at most ``max`` (uniform) and/or at least ``min`` (not uniform)."""

    kind: Literal["uniform_across"]
    observable: str
    where: Where = Field(default_factory=dict)
    groups: list[str] | None = None
    statistic: Literal["max_min_ratio", "cv"] = "max_min_ratio"
    max: float | None = None
    min: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> UniformAcrossClaim:
        if self.max is None and self.min is None:
            raise ValueError("give max and/or min")
        return self


class MonotonicClaim(ClaimBase):
    kind: Literal["monotonic"]
    observable: str
    axis: str
    where: Where = Field(default_factory=dict)
    direction: Literal["increasing", "decreasing"]
    strict: bool = False
    group_reduce: GroupReduce = "median"


class IndependentOfClaim(ClaimBase):
    """max/min of the observable across the values of ``axis`` is at most ``max_factor``."""

    kind: Literal["independent_of"]
    observable: str
    axis: str
    where: Where = Field(default_factory=dict)
    max_factor: float = Field(gt=1)
    group_reduce: GroupReduce = "median"


class EventClaim(ClaimBase):
    """A crossing observable happens (``happens: true``), optionally before a step."""

    kind: Literal["event"]
    observable: str
    where: Where = Field(default_factory=dict)
    happens: bool = True
    before: int | None = None


class StableClaim(ClaimBase):
    """Every selected cell finished with finite losses (no divergence, no error)."""

    kind: Literal["stable"]
    where: Where = Field(default_factory=dict)


class SeedSpreadClaim(ClaimBase):
    """``max - min`` of the observable over the seeds of one selection is at most ``max`` in every
    group (App. E: "the variation across seeds is small")."""

    kind: Literal["seed_spread"]
    observable: str
    where: Where = Field(default_factory=dict)
    groups: list[str] | None = None
    max: float = Field(ge=0)
    min_seeds: int = Field(2, ge=2)


class MatchesClaim(ClaimBase):
    """``|left - right| <= atol + rtol |right|`` in every group (a measured quantity against a
    predicted one, e.g. fitted mode rates against the lemma maps)."""

    kind: Literal["matches"]
    left: Side
    right: Side
    rtol: float = Field(0.0, ge=0)
    atol: float = Field(0.0, ge=0)
    groups: list[str] | None = None


Claim = Annotated[
    ThresholdClaim
    | CompareClaim
    | OrderingClaim
    | RateClaim
    | UniformAcrossClaim
    | MonotonicClaim
    | IndependentOfClaim
    | EventClaim
    | StableClaim
    | MatchesClaim
    | SeedSpreadClaim,
    Field(discriminator="kind"),
]


# --- overview figures --------------------------------------------------------------------------


class Panel(Strict):
    label: str
    where: Where = Field(default_factory=dict)


class Mark(Strict):
    """A vertical bar at ``step`` in every panel (e.g. an optimizer switch, Fig. 7)."""

    step: int = Field(ge=0)
    label: str


LineStyle = Literal["solid", "dotted", "dashed", "dashdot"]


class FigureSpec(Strict):
    """An overview figure in the report, besides the claims' own.

    ``metric``: the metric against step, one panel per entry of ``panels``; in a panel, cells that
    differ in a sweep value get their own colour (matplotlib's cycle: blue, orange, green, ...)
    and seeds share it. A list of metrics draws them in the same colour, solid, dotted, dashed,
    dash-dotted in that order (Fig. 5: train accuracy solid, test dotted), or in the ``styles``
    given, one per metric (Figs. 8, 12: train solid, validation dashed).

    ``observable`` with ``axis``: the observable (median over seeds) against the values of a sweep
    key, one line per panel, all in one plot (e.g. the grokking delay against alpha, a line per
    optimizer); a missing value (an event that never happened) is drawn as a gap and listed.

    ``marks`` draw a vertical bar at a step in every panel (the switch of Fig. 7); ``seeds: band``
    draws each set of seeds as its median with the min-max range shaded (Fig. 13).
    """

    title: str
    metric: str | list[str] | None = None
    observable: str | None = None
    axis: str | None = None
    panels: list[Panel] = Field(min_length=1)
    log_y: bool = True
    log_x: bool = False
    marks: list[Mark] = Field(default_factory=list)
    styles: list[LineStyle] | None = Field(
        None, description="one line style per metric (default: solid, dotted, dashed, dashdot)"
    )
    seeds: Literal["lines", "band"] = Field(
        "lines",
        description="lines: a thin line per seed; band: the median over seeds with the min-max "
        "range shaded (Fig. 13)",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> FigureSpec:
        if (self.metric is None) == (self.observable is None):
            raise ValueError("give exactly one of 'metric' and 'observable'")
        if self.observable is not None and self.axis is None:
            raise ValueError("an observable figure needs 'axis' (a sweep key)")
        if isinstance(self.metric, list) and not 1 <= len(self.metric) <= 4:
            raise ValueError("a figure draws 1 to 4 metrics")
        if self.styles is not None and len(self.styles) != len(self.metrics):
            raise ValueError(
                f"styles: {len(self.styles)} given for {len(self.metrics)} metrics; give one each"
            )
        return self

    @property
    def metrics(self) -> list[str]:
        if self.metric is None:
            return []
        return [self.metric] if isinstance(self.metric, str) else list(self.metric)


# --- the spec ----------------------------------------------------------------------------------


class Spec(Strict):
    """One experiment: what to train, how, over which sweep, and what the paper claims."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=100)  # names the run directory
    description: str = ""
    paper: str = Field("", description="where in the paper (figure, section, table)")
    task: Task
    model: Model
    loss: Loss = MSELoss(kind="mse")
    optimizers: dict[str, Optimizer] = Field(min_length=1)
    train: Train
    metrics: list[Metric] = Field(default_factory=list)
    sweep: Sweep = Sweep()
    observables: dict[str, Observable] = Field(default_factory=dict)
    claims: list[Claim] = Field(default_factory=list)
    figures: list[FigureSpec] = Field(default_factory=list)
    profiles: dict[Literal["smoke", "default", "paper"], dict[str, Any]] = Field(
        default_factory=dict
    )

    @field_validator("optimizers")
    @classmethod
    def _names(cls, optimizers: dict[str, Any]) -> dict[str, Any]:
        for name in optimizers:
            if not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
                raise ValueError(f"optimizer name {name!r}: use letters, digits, '_', '-', '.'")
            if len(name) > 64:
                raise ValueError(f"optimizer name {name[:20]!r}...: at most 64 characters")
        return optimizers

    @model_validator(mode="after")
    def _references(self) -> Spec:
        """Claims and observables refer to names that exist; task and loss fit together."""
        if (self.task.kind == "poisson") != (self.loss.kind == "pinn"):
            raise ValueError(
                f"task {self.task.kind!r} needs loss kind "
                f"{'pinn' if self.task.kind == 'poisson' else 'mse'}, got {self.loss.kind!r}"
            )
        if self.loss.kind == "cross_entropy" and self.task.kind not in CLASSIFICATION_TASKS:
            raise ValueError(
                f"loss cross_entropy needs class targets (task {', '.join(CLASSIFICATION_TASKS)}),"
                f" not {self.task.kind!r}"
            )
        tokens = self.task.kind == "modular_addition_tokens"
        if tokens != (self.model.kind == "transformer"):
            raise ValueError(
                "task modular_addition_tokens and model transformer go together "
                f"(got task {self.task.kind!r} with model {self.model.kind!r})"
            )
        if tokens and self.loss.kind != "cross_entropy":
            raise ValueError(
                f"task modular_addition_tokens predicts tokens: loss kind must be cross_entropy, "
                f"not {self.loss.kind!r}"
            )
        for name, optimizer in self.optimizers.items():
            for kind in _optimizer_kinds(optimizer):
                if kind in ("lm", "gn") and self.loss.kind == "cross_entropy":
                    raise ValueError(
                        f"optimizers.{name}: {kind} needs residuals (loss mse or pinn); for "
                        "cross_entropy use ggn"
                    )
                if kind == "ggn" and self.loss.kind != "cross_entropy":
                    raise ValueError(
                        f"optimizers.{name}: ggn needs loss cross_entropy, not {self.loss.kind!r}"
                    )
        keys = [metric_key(m) for m in self.metrics]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise ValueError(f"metrics recorded twice under {repeated}: give them distinct 'name's")
        metric_names = set(keys) | {"loss"}
        sweep_keys = set(self.sweep.grid) | set(self.sweep.zip)
        for figure in self.figures:
            for metric in figure.metrics:
                if metric not in metric_names and not metric.startswith("train/"):
                    raise ValueError(f"figure {figure.title!r}: metric {metric!r} is not recorded")
            if figure.observable is not None and figure.observable not in self.observables:
                raise ValueError(
                    f"figure {figure.title!r}: unknown observable {figure.observable!r}"
                )
            if figure.axis is not None and figure.axis not in sweep_keys:
                raise ValueError(
                    f"figure {figure.title!r}: axis {figure.axis!r} is not a sweep key "
                    f"(sweep keys: {sorted(sweep_keys)})"
                )
        for metric in self.metrics:
            if metric.kind in GRAM_METRIC_KINDS and self.loss.kind == "cross_entropy":
                raise ValueError(
                    f"metric {metric_key(metric)!r}: {metric.kind} needs residuals (loss mse)"
                )
            if metric.kind == "ray_fft_error" and self.task.kind != "polynomial":
                raise ValueError(
                    f"metric {metric_key(metric)!r}: ray_fft_error needs a task with a target "
                    f"formula (polynomial), not {self.task.kind!r}"
                )
            if metric.kind == "accuracy" and self.task.kind not in CLASSIFICATION_TASKS:
                raise ValueError(
                    f"metric {metric_key(metric)!r}: accuracy needs class targets "
                    f"(task {', '.join(CLASSIFICATION_TASKS)}), not {self.task.kind!r}"
                )
        for name, observable in self.observables.items():
            if isinstance(observable, DelayObservable):
                for ref in (observable.start, observable.end):
                    target = self.observables.get(ref)
                    if not isinstance(target, CrossingObservable):
                        raise ValueError(
                            f"observables.{name}: {ref!r} is not a crossing observable"
                        )
            elif observable.metric not in metric_names and not observable.metric.startswith(
                "train/"
            ):
                raise ValueError(
                    f"observables.{name}.metric: {observable.metric!r} is not recorded; "
                    f"metrics are {sorted(metric_names)} and train/<record>"
                )
        ids = [claim.id for claim in self.claims]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate claim ids: {duplicates}")
        for claim in self.claims:
            for ref in _observable_refs(claim):
                if ref not in self.observables:
                    raise ValueError(f"claim {claim.id!r}: unknown observable {ref!r}")
            if isinstance(claim, EventClaim) and not isinstance(
                self.observables[claim.observable], CrossingObservable
            ):
                raise ValueError(
                    f"claim {claim.id!r}: observable {claim.observable!r} is not a crossing"
                )
            axis = getattr(claim, "axis", None) or getattr(claim, "for_each", None)
            if axis is not None and axis not in sweep_keys:
                raise ValueError(
                    f"claim {claim.id!r}: axis {axis!r} is not a sweep key "
                    f"(sweep keys: {sorted(sweep_keys)})"
                )
            for where in _wheres(claim):
                optimizer = where.get("optimizer")
                choices = optimizer.get("in") if isinstance(optimizer, dict) else None
                names = choices if isinstance(choices, list) else [optimizer]
                for name in names:
                    # a list or mapping here is a user mistake, not a crash (unhashable in `in`)
                    if name is not None and name not in list(self.optimizers):
                        raise ValueError(f"claim {claim.id!r}: unknown optimizer {name!r}")
        return self


def _optimizer_kinds(optimizer: Any) -> list[str]:
    if isinstance(optimizer, Switch):
        return [*_optimizer_kinds(optimizer.first), *_optimizer_kinds(optimizer.second)]
    return [optimizer.kind]


def _observable_refs(claim: Any) -> list[str]:
    refs = [getattr(claim, "observable", None)]
    for side in ("left", "right"):
        value = getattr(claim, side, None)
        if value is not None:
            refs.append(value.observable)
    return [r for r in refs if r is not None]


def _wheres(claim: Any) -> list[Where]:
    wheres = [getattr(claim, "where", None)]
    for side in ("left", "right"):
        value = getattr(claim, side, None)
        if value is not None:
            wheres.append(value.where)
    wheres.extend(getattr(claim, "sequence", None) or [])
    return [w for w in wheres if w]
