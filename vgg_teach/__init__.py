"""vgg_teach — the helper package of the vgg-teach course (VGG16 in PyTorch, in Korean and English).

Modules, by lesson:

- ``models`` (all): VGG configurations A–E, ``make_layers``, torchvision-compatible ``VGG``,
  the CIFAR variant and a hand-written reference VGG16;
- ``env`` (all): device choice, seeding, smoke mode (``VGG_TEACH_SMOKE=1``), ``setup_lesson``;
- ``checks`` / ``feedback`` / ``trace`` (exercises): bilingual checks that never raise;
- ``params``, ``explorer`` (02): parameter, compute and memory tables, the layer explorer;
- ``receptive_field`` (03): receptive-field tables, measured and effective receptive fields;
- ``pretrained`` (04): ImageNet-pretrained VGG16-BN, the head swap;
- ``data``, ``engine``, ``train``, ``checkpoint`` (05): fast CIFAR-10 training, the CLI;
- ``display``, ``plotting``: tables, widgets and Hangul in figures;
- ``authoring``: the lesson generator (for instructors).

Submodules are imported on demand, so ``import vgg_teach`` stays light.
"""

__version__ = "0.1.0"
