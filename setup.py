"""Install leakgan_tf and synthetic_oracle.

TensorFlow is chosen by extra so that exactly one build is installed:
  pip install -e .[cpu]   # tensorflow-cpu (laptops, CI)
  pip install -e .[gpu]   # tensorflow with the CUDA libraries
"""
from setuptools import find_packages, setup

setup(
    name="leakgan_tf",
    version="0.1.0",
    description="LeakGAN (Guo et al., AAAI 2018) in TensorFlow 2 / Keras, faithful to CR-Gjx/LeakGAN",
    packages=find_packages(include=["leakgan_tf", "leakgan_tf.*",
                                    "synthetic_oracle", "synthetic_oracle.*"]),
    python_requires=">=3.10",
    install_requires=[
        "numpy",
        "nltk>=3.9",
        "absl-py",
        "tensorflow-datasets",
        # tensorflow-datasets 4.9.x imports importlib_resources for local
        # builders but does not declare it.
        "importlib_resources",
        "tensorboard",
    ],
    extras_require={
        "cpu": ["tensorflow-cpu>=2.16"],
        "gpu": ["tensorflow[and-cuda]>=2.16"],
        "test": ["pytest"],
        "experiments": ["matplotlib"],
    },
    entry_points={
        "console_scripts": [
            "leakgan-train=leakgan_tf.main:run",
            "leakgan-sample=leakgan_tf.sample:run",
            "synthetic-oracle=synthetic_oracle.__main__:run",
        ],
    },
)
