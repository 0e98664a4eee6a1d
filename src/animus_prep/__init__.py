"""animus-prep: prepare characters for LoRA training on the Animus pipeline."""

__version__ = "0.1.0"
