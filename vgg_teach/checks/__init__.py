"""Exercise checks, one module per lesson topic; every check returns a bilingual CheckResult and never raises.

``from vgg_teach.checks import check_vgg16`` imports only what that check needs: each name is imported from
its module the first time it is asked for. The feedback type (:mod:`.feedback`) and the op recorder
(:mod:`.trace`) live here too.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_WHERE = {
    "check_vgg16": ".vgg16", "VGG16_PARAMS": ".vgg16",
    "check_make_layers": ".make_layers",
    "check_conv_params": ".params", "check_linear_params": ".params",
    "check_receptive_fields": ".receptive_field",
    "check_head_swap": ".head", "check_parameter_count": ".param_count",
    "check_confusion_matrix": ".training", "check_train_step": ".train_step", "check_evaluate": ".train_step",
    "check_prediction": ".predictions", "check_quiz": ".predictions",
    "check_fully_convolutional": ".dense", "check_score_map_predictions": ".score_map",
}

__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
