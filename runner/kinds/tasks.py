"""Task kinds: the data a spec trains on (``task: {kind: ...}``).

Each kind holds its fields, says what it ``provides`` to the other parts of the spec (see
:mod:`runner.kinds.base`) and builds its :class:`Problem` from the cell's task key with
:meth:`TaskKind.build`. ``core`` is imported inside ``build`` so that validating a spec never
imports JAX.

Adding a kind: a class here and one line in :data:`TASK_KINDS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from runner.kinds.base import Part

SHIPPED_DIGITS = 10_000


@dataclass
class Problem:
    """Training data, evaluation data and the metric grid for one cell.

    ``eval_data`` is the set the evaluation metrics use (the task grid for regressions, a held-out
    grid with the exact solution for the PINN, the test split of a supervised task);
    ``grid_shape`` is its grid (``()``: none). ``linear`` holds the ``random_jacobian`` system,
    ``teacher`` the polynomial task's ``beta`` (its target formula's parameter), ``tokens`` a
    token task's readout positions and vocabulary.
    """

    train_data: tuple[Any, Any]
    grid_shape: tuple[int, ...]
    output_dim: int
    eval_data: tuple[Any, Any] | None = None
    linear: Any = None
    teacher: Any = None
    tokens: Any = None

    @property
    def evaluation(self) -> tuple[Any, Any]:
        return self.train_data if self.eval_data is None else self.eval_data

    @classmethod
    def split(cls, data: Any, **extra: Any) -> Problem:
        """A supervised task with a held-out set (a ``core.tasks.SplitData``)."""
        return cls(
            (data.train_inputs, data.train_targets),
            (),
            data.train_targets.shape[1],
            eval_data=(data.test_inputs, data.test_targets),
            **extra,
        )


class TaskKind(Part):
    """A task: its fields, what it provides, and the problem it builds."""

    kind: str

    def build(self, key: Any) -> Problem:
        """The cell's data; ``key`` is the cell's task key (drawn from its seed)."""
        raise NotImplementedError


def _split_key(split_seed: int | None, key: Any) -> Any:
    import jax

    return key if split_seed is None else jax.random.PRNGKey(split_seed)


class _GridRegression(TaskKind):
    """A target sampled on a grid: the data, the metrics' grid and the evaluation set at once."""

    provides: ClassVar = frozenset({"vector_inputs", "targets", "one_output", "real_outputs"})

    def build(self, key):
        data = self.data()
        return Problem((data.inputs, data.targets), data.grid_shape, 1)

    def data(self) -> Any:
        """The ``core.tasks.RegressionData`` on the grid."""
        raise NotImplementedError


class Regression1D(_GridRegression):
    """``u(x) = (1/3) sum_k k sin((2k+1) pi x - k)`` on ``points`` grid points of [0, 1] (Fig 3)."""

    kind: Literal["regression_1d"]
    example: ClassVar[dict[str, Any]] = {"points": 32}
    points: int = Field(100, ge=4, description="grid points on [0, 1]")

    def data(self):
        from core import tasks

        return tasks.regression_1d(self.points)


class Regression2D(_GridRegression):
    """The discontinuous target of eq. (7) on a ``points_per_side^2`` grid of [0, 1]^2 (Fig 9)."""

    kind: Literal["regression_2d"]
    example: ClassVar[dict[str, Any]] = {"points_per_side": 8}
    points_per_side: int = Field(40, ge=4, description="grid points per side of [0, 1]^2")

    def data(self):
        from core import tasks

        return tasks.regression_2d(self.points_per_side)


class RandomJacobianTask(TaskKind):
    """A linear least-squares problem ``r(theta) = J theta - y`` with ``J = U diag(s) V^T``:
    ``residuals x parameters``, singular values log-spaced from ``singular_max`` to
    ``singular_min`` (docs/paper-notes.md#lemmas); ``J``, ``U``, ``V`` and ``y`` drawn from the
    cell's seed. Pairs with the ``linear`` model."""

    kind: Literal["random_jacobian"]
    example: ClassVar[dict[str, Any]] = {"residuals": 8, "parameters": 20}
    residuals: int = Field(40, ge=2, description="rows of J (the number of residuals m)")
    parameters: int = Field(300, ge=2, description="columns of J (the number of parameters p)")
    singular_max: float = Field(1e2, gt=0, description="largest singular value of J")
    singular_min: float = Field(1e-4, gt=0, description="smallest singular value of J")
    provides: ClassVar = frozenset({"linear_system", "targets", "one_output", "real_outputs"})

    def build(self, key):
        import jax.numpy as jnp

        from core import tasks

        linear = tasks.random_jacobian(
            key, self.residuals, self.parameters, self.singular_max, self.singular_min
        )
        rows = jnp.zeros((self.residuals, 1))  # the linear objective ignores its inputs
        return Problem((rows, linear.targets[:, None]), (), 1, linear=linear)


class Poisson(TaskKind):
    """``-Laplace(u) = f`` on the unit square, ``u = 0`` on the boundary, exact solution
    ``sin(n pi x) sin(m pi y)`` (section 4.2, Fig. 4; :mod:`core.pde`). Collocation points:
    ``interior`` uniform in the square and ``boundary_per_edge`` uniform on each edge, drawn from
    the cell's seed; metrics use a ``grid_points_per_side^2`` grid and the exact solution."""

    kind: Literal["poisson"]
    example: ClassVar[dict[str, Any]] = {
        "interior": 32,
        "boundary_per_edge": 4,
        "grid_points_per_side": 8,
    }
    n: int = Field(1, ge=1, description="frequency of the exact solution in x")
    m: int = Field(1, ge=1, description="frequency of the exact solution in y")
    interior: int = Field(640, ge=1, description="collocation points inside the square")
    boundary_per_edge: int = Field(10, ge=1, description="collocation points on each edge")
    grid_points_per_side: int = Field(64, ge=4, description="evaluation grid points per side")
    provides: ClassVar = frozenset({"vector_inputs", "pde", "one_output", "real_outputs"})

    def build(self, key):
        from core import pde

        poisson = pde.poisson_square(
            key,
            self.n,
            self.m,
            interior=self.interior,
            boundary_per_edge=self.boundary_per_edge,
            grid_points_per_side=self.grid_points_per_side,
        )
        return Problem(
            (poisson.points, poisson.flags),
            poisson.grid_shape,
            1,
            eval_data=(poisson.grid, poisson.grid_solution),
        )


class ModularAddition(TaskKind):
    """``a + b = c (mod modulus)`` on all ``modulus^2`` pairs: input ``[onehot(a), onehot(b)]``,
    target ``onehot(c)`` (Kumar et al.; docs/paper-notes.md#modular-mlp). A permutation drawn
    from ``split_seed`` (null: the cell's seed) puts the first ``int(train_fraction *
    modulus^2)`` pairs in the training set and the rest in the test set (the evaluation set of
    the metrics)."""

    kind: Literal["modular_addition"]
    example: ClassVar[dict[str, Any]] = {"modulus": 5, "train_fraction": 0.8}
    modulus: int = Field(23, ge=2, description="the modulus p")
    train_fraction: float = Field(0.9, gt=0, lt=1, description="share of the pairs that train")
    split_seed: int | None = Field(1, description="seed of the split (null: the cell's seed)")
    provides: ClassVar = frozenset({"vector_inputs", "targets", "classes", "real_outputs"})

    def build(self, key):
        from core import tasks

        split_key = _split_key(self.split_seed, key)
        return Problem.split(tasks.modular_addition(self.modulus, self.train_fraction, split_key))


class ModularAdditionTokens(TaskKind):
    """Every equation ``a + b = c (mod p)`` as the 7 tokens ``<eos> a + b = c <eos>`` (Power et
    al. 2022, docs/paper-notes.md#transformer), for the ``transformer`` model: the input is the
    first 6 tokens, position ``i`` predicts token ``i + 1``. ``loss_positions`` says which
    predictions carry the loss and the accuracy: ``rhs`` (grok) those of ``c`` and the final
    ``<eos>``, ``equals`` only ``c``. The equations are split by a permutation seeded with
    ``split_seed`` (null: the cell's seed); the first ``round(train_fraction p^2)`` train."""

    kind: Literal["modular_addition_tokens"]
    example: ClassVar[dict[str, Any]] = {"modulus": 5}
    modulus: int = Field(97, ge=2, description="the modulus p")
    train_fraction: float = Field(0.5, gt=0, lt=1, description="share of the equations that train")
    split_seed: int | None = Field(0, description="seed of the split (null: the cell's seed)")
    loss_positions: Literal["rhs", "equals"] = Field(
        "rhs", description="rhs: predict c and the final <eos>; equals: only c"
    )
    provides: ClassVar = frozenset({"tokens", "classes"})

    def build(self, key):
        from core import tasks

        sequences = tasks.modular_addition_sequences(
            self.modulus, self.train_fraction, _split_key(self.split_seed, key), self.loss_positions
        )
        return Problem.split(sequences.data, tokens=sequences)


class Polynomial(TaskKind):
    """The single-index quadratic teacher ``y(x) = (beta . x / sqrt(D))^2`` with ``x ~ N(0, I_D)``
    and ``beta ~ N(0, I_D)`` (Kumar et al. section 5; docs/paper-notes.md#polynomial):
    ``train`` and ``test`` inputs drawn from ``data_seed`` (null: the cell's seed); the test set
    is the evaluation set of the metrics."""

    kind: Literal["polynomial"]
    example: ClassVar[dict[str, Any]] = {"dimension": 4, "train": 16, "test": 16}
    dimension: int = Field(100, ge=1, description="input dimension D")
    train: int = Field(450, ge=1, description="training inputs")
    test: int = Field(1000, ge=1, description="test inputs")
    data_seed: int | None = Field(0, description="seed of x and beta (null: the cell's seed)")
    provides: ClassVar = frozenset(
        {"vector_inputs", "targets", "one_output", "target_formula", "real_outputs"}
    )

    def build(self, key):
        from core import tasks

        data_key = _split_key(self.data_seed, key)
        data, beta = tasks.polynomial_teacher(data_key, self.dimension, self.train, self.test)
        return Problem.split(data, teacher=beta)


class MNIST(TaskKind):
    """MNIST digits, inputs ``pixels / 255`` (average-pooled ``pool x pool``: 1 keeps the 784
    pixels, 2 gives the 14 x 14 CPU variant of docs/paper-notes.md#mnist-grokking), targets
    one-hot (10).

    ``source``: ``shipped`` the 10 000 digits inside the package (see ``runner data``), split by
    a permutation from ``numpy.random.default_rng(split_seed)``: the first ``train`` train, the
    next ``test`` (null: all the rest) test. ``full`` the standard MNIST from ``path``,
    ``$PGDLAB_DATA`` or the usual cache folders (``runner data`` says which), split as Omnigrok:
    the first ``train`` training images and the first ``test`` (null: all 10 000) test images.
    ``auto``: full MNIST if found, else the shipped digits. The source used is recorded in
    ``env.json`` and the report."""

    kind: Literal["mnist"]
    example: ClassVar[dict[str, Any]] = {"source": "shipped", "train": 20, "test": 20, "pool": 7}
    source: Literal["auto", "shipped", "full"] = Field(
        "auto", description="shipped digits, full MNIST, or full if found (auto)"
    )
    path: str | None = Field(None, description="a folder of IDX files or a mnist.npz")
    train: int = Field(1000, ge=1, description="training digits")
    test: int | None = Field(None, ge=1, description="test digits (null: all the rest)")
    pool: Literal[1, 2, 4, 7] = Field(1, description="average-pool size (2: 14 x 14 inputs)")
    split_seed: int = Field(0, description="seed of the shipped digits' split")
    provides: ClassVar = frozenset({"vector_inputs", "targets", "classes", "real_outputs"})

    @model_validator(mode="after")
    def _sizes(self) -> MNIST:
        if self.source == "shipped" and self.train + (self.test or 1) > SHIPPED_DIGITS:
            raise ValueError(
                f"the shipped set has 10 000 digits: train {self.train} + test "
                f"{self.test or 'the rest'} does not fit"
            )
        return self

    def build(self, key):
        import jax.numpy as jnp

        from core import tasks
        from runner.data import mnist_arrays

        arrays = mnist_arrays(self.model_dump())
        return Problem.split(tasks.SplitData(*(jnp.asarray(a) for a in arrays)))


TASK_KINDS: tuple[type[TaskKind], ...] = (
    Regression1D,
    Regression2D,
    RandomJacobianTask,
    Poisson,
    ModularAddition,
    ModularAdditionTokens,
    Polynomial,
    MNIST,
)
