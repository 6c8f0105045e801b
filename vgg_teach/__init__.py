"""vgg_teach — the helper package of the vgg-teach course (VGG16 in PyTorch, in Korean and English)."""

__version__ = "0.6.0"  # = pyproject.toml's version (tested); a notebook's setup cell installs the tag v<version>
