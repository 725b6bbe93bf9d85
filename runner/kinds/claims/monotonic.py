"""The ``monotonic`` claim kind."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from runner.kinds.claims.axis import AxisClaim
from runner.kinds.claims.margins import relative_noise
from runner.kinds.claims.seeds import monotone, spread, steps, value_scale


class MonotonicClaim(AxisClaim):
    """The seed-aggregated observable increases or decreases with a numeric sweep key ``axis``:
    each seed's groups reduced with ``group_reduce`` first, or in every (``all``) / some
    (``any``) group."""

    margin_text: ClassVar[str] = (
        "the smallest step along `axis` in `direction` over the largest |value| of the "
        "sequence (the seed-aggregated values), in the deciding group"
    )

    kind: Literal["monotonic"]
    axis: str = Field(
        description="a numeric sweep key: the observable is read at each of its values"
    )
    direction: Literal["increasing", "decreasing"] = Field(
        description="how the observable changes as `axis` grows"
    )
    strict: bool = Field(
        False, description="`true`: every step along `axis` changes the value (equal ones fail)"
    )

    example: ClassVar[dict[str, Any]] = {
        "id": "error_grows_with_alpha",
        "observable": "final_error",
        "axis": "model.alpha",
        "where": {"optimizer": "gn"},
        "direction": "increasing",
    }
    numeric_axis: ClassVar[bool] = True

    def expectation(self):
        strict = "strictly" if self.strict else "not strictly"
        return f"is {self.direction} ({strict}) in {self.axis}"

    def test(self, seq):
        ok, smallest = monotone(seq, self.direction, self.strict)
        return ok, smallest / value_scale(seq)

    def noise(self, seq, seeds, errors):
        # each seed's smallest step, and the errors at the two ends of the aggregate's, in the
        # scale the margin reads a step in (the largest |value|)
        own = [float(steps(s, self.direction).min()) for s in seeds]
        i = int(steps(seq, self.direction).argmin())
        numerical = errors[i] + errors[i + 1]
        return relative_noise(spread(own, self.aggregate), value_scale(seq), 0.0, numerical)

    def group_phrase(self):
        return f"{self.direction}{' strictly' if self.strict else ''} in {self.axis}"

    def verdict_text(self, seq, passed):
        return self.direction if passed else f"not {self.direction}"


__all__ = ["MonotonicClaim"]
