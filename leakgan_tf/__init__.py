"""leakgan_tf: LeakGAN in TensorFlow 2 / Keras, faithful to the official TF1 code."""
__version__ = "0.1.0"
