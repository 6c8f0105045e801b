"""VGG models: configurations A–E and their builder (:mod:`.architecture`), pretrained VGG16-BN (:mod:`.pretrained`)."""

from __future__ import annotations

from .._lazy import lazy_exports

_WHERE = {name: ".architecture" for name in (
    "CFGS", "LayerSpec", "make_layers", "VGG", "vgg", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn",
    "vgg19", "vgg19_bn", "vgg_cifar", "init_vgg_weights", "conv_layer_names", "TINY_CFG", "CIFAR_MODELS",
    "build_model")}
_WHERE.update({name: ".pretrained" for name in (
    "load_vgg16_bn_pretrained", "weights_path", "weights_cached", "expected_sha256_prefix", "sha256_of",
    "PretrainedWeightsError", "is_stand_in")})

__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
