"""Everything a spec selects with ``kind:``, one Pydantic class per kind.

Each family is a module with its registry tuple: :mod:`.tasks` (``TASK_KINDS``), :mod:`.models`
(``MODEL_KINDS``), :mod:`.losses` (``LOSS_KINDS``), :mod:`.optimizers` (``OPTIMIZER_KINDS``),
:mod:`.metrics` (``METRIC_KINDS``), :mod:`.observables` (``OBSERVABLE_KINDS``) and the package
:mod:`.claims` (``KIND_MODULES``, one file per claim kind). A kind's class holds its fields (each
with a description), says what it needs from the other parts of a spec and what it provides
(:mod:`.base`), and builds its core object (a task its data, an optimizer its transformation, a
metric its value). ``runner/spec.py`` builds the spec's unions from the registries;
``docs/kinds.md`` and ``docs/claims.md`` are generated from them; ``docs/architecture.md`` says
which file a new kind is.
"""
