"""The installed package's version (a module of its own so every layer may import it)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("resilience")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"
