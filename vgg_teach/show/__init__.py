"""Showing things: tables, widgets, figures and the Hangul font. Every ``plot_*`` follows :mod:`.figures`."""

from __future__ import annotations

from .._lazy import lazy_exports

_WHERE = {
    "Table": ".tables", "LiveView": ".widgets", "figure_bundle": ".widgets", "use_korean_font": ".font",
    "figure_and_axes": ".figures",
    "plot_params_vs_compute": ".params_plots",
    **{n: ".layer_explorer" for n in ("explorer_table", "explorer", "show_explorer")},
    **{n: ".rf_plots" for n in ("plot_rf_growth", "plot_rf_boxes", "plot_gradient_map", "plot_gradient_maps",
                                "rf_slider", "show_rf_slider")},
    **{n: ".training_plots" for n in ("class_label", "plot_samples", "plot_learning_curves", "plot_lr_schedule",
                                      "plot_confusion_matrix", "plot_per_class_accuracy")},
    **{n: ".predictions" for n in ("plot_topk", "plot_misclassified", "prediction_browser",
                                   "show_prediction_browser")},
    **{n: ".dense_plots" for n in ("plot_score_map", "plot_scale_jitter", "plot_activation_scales")},
}

__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
