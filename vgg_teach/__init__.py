"""vgg_teach — the helper package of the vgg-teach course (VGG16 in PyTorch, in Korean and English).

What a learner's notebook imports, and nothing else (the course's authoring tools live in the
repository's ``tools/``). Subpackages, by concept:

- ``models`` — VGG configurations A–E, one builder, the CIFAR variant, torchvision's pretrained VGG16-BN;
- ``answers`` — the reference answer of every exercise, under the exercise's own name;
- ``analysis`` — layers in order, parameters and compute, receptive fields (tables, measurements);
- ``training`` — data as uint8 tensors, augmentation on the device, the engine, checkpoints, metrics, CLI;
- ``show`` — tables, widgets, figures (one plotting contract) and the Hangul font;
- ``checks`` — exercise feedback that never raises, one checker module per topic;
- ``env`` (device, seeds, smoke mode, the setup cell), ``platforms`` (Colab, Kaggle or elsewhere: where runs
  go, whether the package's requirements are met) and ``errors`` (bilingual messages, one error tree).

Submodules are imported on demand, so ``import vgg_teach`` stays light. Which lesson uses which
modules is written once, in :data:`LESSONS`.
"""

__version__ = "0.4.0"  # = pyproject.toml's version (tested); a notebook's setup cell installs the tag v<version>

#: lesson number → the modules it imports (its helpers, checks and reference answers).
LESSONS: dict[str, tuple[str, ...]] = {
    "01": ("vgg_teach.models.architecture", "vgg_teach.checks.vgg16", "vgg_teach.checks.vgg16_structure",
           "vgg_teach.checks.build", "vgg_teach.checks.diagnose", "vgg_teach.checks.make_layers",
           "vgg_teach.checks.trace", "vgg_teach.checks.predictions", "vgg_teach.answers"),
    "02": ("vgg_teach.analysis.params", "vgg_teach.analysis.compare", "vgg_teach.analysis.model_summary",
           "vgg_teach.show.params_plots", "vgg_teach.show.layer_explorer", "vgg_teach.checks.params",
           "vgg_teach.checks.predictions", "vgg_teach.answers"),
    "03": ("vgg_teach.analysis.receptive_field", "vgg_teach.analysis.rf_measure", "vgg_teach.show.rf_plots",
           "vgg_teach.checks.receptive_field", "vgg_teach.checks.predictions",
           "vgg_teach.answers"),
    "04": ("vgg_teach.models.pretrained", "vgg_teach.show.predictions", "vgg_teach.checks.head",
           "vgg_teach.checks.param_count", "vgg_teach.checks.predictions", "vgg_teach.training.reference_results",
           "vgg_teach.answers"),
    "05": ("vgg_teach.platforms", "vgg_teach.training.engine", "vgg_teach.training.step", "vgg_teach.training.cifar10",
           "vgg_teach.training.hf_cifar10", "vgg_teach.training.download", "vgg_teach.training.folders",
           "vgg_teach.training.augment", "vgg_teach.training.metrics", "vgg_teach.training.budget",
           "vgg_teach.training.reference_results", "vgg_teach.show.training_plots", "vgg_teach.show.predictions",
           "vgg_teach.checks.train_step", "vgg_teach.checks.training", "vgg_teach.answers"),
    "06": ("vgg_teach.analysis.dense", "vgg_teach.analysis.jitter", "vgg_teach.analysis.deep_init",
           "vgg_teach.analysis.receptive_field", "vgg_teach.analysis.params", "vgg_teach.models.pretrained",
           "vgg_teach.show.dense_plots", "vgg_teach.checks.dense", "vgg_teach.checks.score_map",
           "vgg_teach.answers"),
    "07": ("vgg_teach.training.distributed", "vgg_teach.training.ddp", "vgg_teach.training.cli",
           "vgg_teach.training.augment", "vgg_teach.checks.questions_ddp", "vgg_teach.checks.predictions"),
}
