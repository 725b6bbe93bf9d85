"""pgdlab runner: spec schema, plan, engines, store, claims and report (grows with issue 3).

``runner`` builds :mod:`core` objects from a validated spec and calls them; it never does linear
algebra itself.
"""

from core import __version__

__all__ = ["__version__"]
