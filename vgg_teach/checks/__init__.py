"""Exercise checks, one module per topic; every check returns a bilingual CheckResult and never raises.

- :mod:`.vgg16` (lesson 01): :func:`check_vgg16`, :func:`check_make_layers`
- :mod:`.params` (lesson 02): :func:`check_conv_params`, :func:`check_linear_params`
- :mod:`.receptive_field` (lesson 03): :func:`check_receptive_fields`
  (reference :func:`.receptive_field.receptive_fields`)
- :mod:`.head` (lesson 04): :func:`check_head_swap`, :func:`check_parameter_count`
- :mod:`.training` (lesson 05): :func:`check_confusion_matrix`

Import checks from here (``from vgg_teach.checks import check_vgg16``) so lessons do not depend on
the module layout.
"""

from .head import check_head_swap, check_parameter_count
from .params import check_conv_params, check_linear_params
from .receptive_field import check_receptive_fields
from .training import check_confusion_matrix
from .vgg16 import VGG16_PARAMS, check_make_layers, check_vgg16

__all__ = ["check_vgg16", "check_make_layers", "VGG16_PARAMS", "check_conv_params", "check_linear_params",
           "check_receptive_fields", "check_head_swap", "check_parameter_count", "check_confusion_matrix"]
