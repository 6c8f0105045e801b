"""Training: data as uint8 tensors on the device, augmentation, the engine, checkpoints, metrics, the CLI, and several
GPUs under torchrun (distributed, ddp)."""

from __future__ import annotations

from .._lazy import lazy_exports

_WHERE = {
    **{n: ".data" for n in ("ImageTensors", "CIFAR10_CLASSES", "CIFAR10_MEAN", "CIFAR10_STD", "hold_out",
                            "subsample", "stratified_split", "channel_stats")},
    "load_cifar10": ".cifar10", "STAND_IN_SIZE": ".cifar10",
    **{n: ".hf_cifar10" for n in ("load_hf_cifar10", "verify_cifar10", "content_digest")},
    **{n: ".download" for n in ("fetch", "DownloadTooSlow")},
    **{n: ".folders" for n in ("load_image_folder", "load_image_folder_splits", "load_jpeg_tarball")},
    **{n: ".augment" for n in ("DeviceLoader", "random_crop_flip", "normalize")},
    **{n: ".fakes" for n in ("make_fake_cifar10", "patched_cifar10_md5", "make_image_folder", "fake_hf_cifar10",
                             "fake_datasets_module")},
    **{n: ".config" for n in ("TrainConfig", "batch_size_for")},
    "local_batch": ".distributed",
    **{n: ".precision" for n in ("Precision", "amp_dtype", "use_channels_last")},
    **{n: ".optim" for n in ("make_optimizer", "lr_factor", "make_scheduler")},
    **{n: ".engine" for n in ("fit", "train_one_epoch", "evaluate", "eval_logits")},
    **{n: ".step" for n in ("train_step", "StepHands", "Watched")},
    **{n: ".budget" for n in ("RunPlan", "plan_for_device", "measure_train_speed")},
    **{n: ".reference_results" for n in ("expected_results", "imagenet_result", "PUBLISHED_CIFAR10")},
    **{n: ".checkpoint" for n in ("TrainingState", "save_state", "load_state", "atomic_save", "atomic_write_json",
                                  "check_resume", "refuse_to_replace", "remove_stale_temporaries")},
    **{n: ".metrics" for n in ("Predictions", "predict", "confusion_matrix", "per_class_accuracy")},
}

__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
