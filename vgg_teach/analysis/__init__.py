"""Reading a model without training it: layers in order, parameters and compute, receptive fields."""

from __future__ import annotations

from .._lazy import lazy_exports

_WHERE = {
    **{n: ".layers" for n in ("leaf_layers", "layer_names", "meta_vgg", "model_device")},
    **{n: ".params" for n in ("conv_params", "linear_params", "batchnorm_params", "layer_table", "LayerTable",
                              "count_flops", "config_table", "params_vs_compute")},
    **{n: ".compare" for n in ("stacked_vs_single", "why_3x3_table", "cifar_comparison")},
    **{n: ".model_summary" for n in ("summary", "summary_text")},
    **{n: ".receptive_field" for n in ("receptive_field_table", "RFTable", "VGG16_RECEPTIVE_FIELDS")},
    **{n: ".rf_measure" for n in ("empirical_receptive_field", "effective_receptive_field", "linearised")},
    **{n: ".estimate" for n in ("estimate_plan", "experiment_flops")},
    **{n: ".dense" for n in ("linear_to_conv", "to_fully_convolutional", "ScoreMap", "score_map_geometry",
                             "dense_predict", "head_on_windows", "crop_scores", "crop_offsets", "TinyValidNet",
                             "evaluation_cost_table", "paper_table5")},
    **{n: ".jitter" for n in ("ScaleJitter", "JitterSample")},
    **{n: ".deep_init" for n in ("init_from_shallower", "INIT_SCHEMES", "activation_scales")},
}

__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
