from setuptools import setup

setup()  # metadata, extras and entry points: pyproject.toml
