"""Training VGG on CIFAR-10 or your own images (lessons 05 and 07): data, recipe, engine, checkpoints, torchrun."""
