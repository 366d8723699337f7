"""Keras models of LeakGAN: the highway-CNN Discriminator, the Manager and the Worker."""
from leakgan_tf.models.discriminator import Discriminator
from leakgan_tf.models.manager import Manager
from leakgan_tf.models.worker import Worker

__all__ = ["Discriminator", "Manager", "Worker"]
