"""Loss kinds (``loss: {kind: ...}``): the training objective over the model's outputs.

Each kind says what it ``needs`` from the task and what it ``provides`` to the optimizers and
metrics (residuals for LM, GN and the Gram metrics; logits for GGN; see
:mod:`runner.kinds.base`), and builds its :mod:`core.objectives` objective around a model's
static part with :meth:`LossKind.objective`.

Adding a kind: a class here and one line in :data:`LOSS_KINDS`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from runner.kinds.base import Part

_CONVENTION = Field(
    "loss",
    description="which Jacobian LM's damping and GN's eps refer to: loss passes sqrt(2/m) (f - y) "
    "(the GN matrix of the mean loss), raw passes f - y (docs/paper-notes.md#residual-convention)",
)


class LossKind(Part):
    """A loss: its fields, what it needs and provides, the objective it builds."""

    kind: str

    @property
    def residual_convention(self) -> str:
        """``loss`` or ``raw`` (see ``convention``); ``loss`` for a loss without residuals."""
        return getattr(self, "convention", "loss")

    def objective(self, static: Any) -> Any:
        """The :class:`core.objectives.Objective` over a model's static (non-trained) part."""
        raise NotImplementedError


class MSELoss(LossKind):
    """Mean-squared error over every residual entry. ``convention`` says which Jacobian LM's
    ``damping`` and GN's ``eps`` refer to (docs/paper-notes.md#residual-convention): ``loss`` passes
    ``sqrt(2/m) (f - y)`` (GN matrix of the mean loss), ``raw`` passes ``f - y``."""

    kind: Literal["mse"]
    example: ClassVar[dict[str, Any]] = {}
    convention: Literal["loss", "raw"] = _CONVENTION
    scale: float = Field(
        1.0,
        gt=0,
        description="divides the residual (so the loss by scale^2): the lazy-training objective "
        "(1/alpha^2) R(alpha h) of Chizat et al. with scale = alpha",
    )
    needs: ClassVar = frozenset({"targets"})
    provides: ClassVar = frozenset({"residuals"})

    def objective(self, static):
        from core.objectives import MeanSquaredError

        return MeanSquaredError(static, convention=self.convention, scale=self.scale)


class PinnLoss(LossKind):
    """``mean_i r_i^2`` of the PINN residuals (``Laplace(u) + f`` inside, ``u`` on the boundary)
    over the points of a batch; ``convention`` as for ``mse`` (``loss``: ``r`` scaled by
    ``sqrt(2/m)``)."""

    kind: Literal["pinn"]
    example: ClassVar[dict[str, Any]] = {}
    convention: Literal["loss", "raw"] = _CONVENTION
    needs: ClassVar = frozenset({"pde"})
    provides: ClassVar = frozenset({"residuals"})

    def objective(self, static):
        from core import pde

        return pde.PoissonResidual(static, convention=self.convention)


class CrossEntropyLoss(LossKind):
    """Mean softmax cross-entropy of the model's outputs (logits) against one-hot targets
    (tasks ``mnist``, ``modular_addition`` and ``modular_addition_tokens``). Pairs with the
    ``gd``, ``adam``, ``adamw`` and ``ggn`` optimizers (LM and GN need residuals: ``mse``)."""

    kind: Literal["cross_entropy"]
    example: ClassVar[dict[str, Any]] = {}
    needs: ClassVar = frozenset({"classes"})
    provides: ClassVar = frozenset({"logits"})

    def objective(self, static):
        from core.objectives import SoftmaxCrossEntropy

        return SoftmaxCrossEntropy(static)


LOSS_KINDS: tuple[type[LossKind], ...] = (MSELoss, PinnLoss, CrossEntropyLoss)
