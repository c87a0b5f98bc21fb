"""The image family: CIFAR-10/ImageNet VQ-VAE, the continuous VAE baseline, a Gated PixelCNN prior, bits/dim."""
