"""Exercise checks, one module per topic; every check returns a bilingual CheckResult and never raises.

- :mod:`.vgg16` (lesson 01): :func:`check_vgg16`, :func:`check_make_layers`

Import checks from here (``from vgg_teach.checks import check_vgg16``) so lessons do not depend on
the module layout.
"""

from .vgg16 import VGG16_PARAMS, check_make_layers, check_vgg16

__all__ = ["check_vgg16", "check_make_layers", "VGG16_PARAMS"]
