"""pgdlab runner: the command-line tool around :mod:`core`.

It reads a spec (:mod:`runner.load`, :mod:`runner.spec`, the kinds in :mod:`runner.kinds`), plans
its cells (:mod:`runner.plan`), trains them through an engine (:mod:`runner.engines`,
:mod:`runner.cell`), stores them (:mod:`runner.store`), judges the claims
(:mod:`runner.kinds.claims`) and writes the report (:mod:`runner.report`). ``docs/architecture.md``
shows the layers. The runner builds :mod:`core` objects and calls them; it never does linear
algebra itself.
"""

from core import __version__

__all__ = ["__version__"]
