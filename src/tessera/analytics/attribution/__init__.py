"""Cross-channel attribution: which touches earned the conversions, model by model.

Pure and vectorised (NumPy, SciPy): ``Paths`` in, ``Credits`` out, no database and no clock.
Build paths with ``build_paths`` (journey objects) or ``Paths.from_arrays`` (columns); run
one model with ``attribute`` or every model side by side with ``all_models``. Every model's
credits add up exactly to the conversions and the value (``credits.apportion``).
"""

from tessera.analytics.attribution.credits import ChannelCredit, Credits, apportion, as_table
from tessera.analytics.attribution.markov import RemovalEffects, removal_effects
from tessera.analytics.attribution.models import MODELS, UnknownModel, all_models, attribute
from tessera.analytics.attribution.paths import Journey, Paths, PathsError, Touch, build_paths

__all__ = [
    "MODELS",
    "ChannelCredit",
    "Credits",
    "Journey",
    "Paths",
    "PathsError",
    "RemovalEffects",
    "Touch",
    "UnknownModel",
    "all_models",
    "apportion",
    "as_table",
    "attribute",
    "build_paths",
    "removal_effects",
]
