# The one thing pyproject.toml cannot say: build the engine's C loops with cffi (API mode).
from setuptools import setup

setup(cffi_modules=["compression/engine/native/build.py:ffibuilder"])
