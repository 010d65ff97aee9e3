"""gan_eval: judge GAN-generated multi-sequence liver MRI the way the SFR 2021 jury did.

A plain library (no Streamlit import). See README.md and ../shared/DESIGN.md.

``gan_eval.Evaluator`` and ``gan_eval.Tracker`` (gan_eval.api) score a team's generated cases
from its own training loop; they are imported on first use, so ``import gan_eval`` stays light.
"""

__version__ = "0.1.0"

_API = ("Evaluator", "Tracker", "chance_accuracy")
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'gan_eval' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_API))
