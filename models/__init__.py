"""Face detection and recognition models shipped with animus-prep (loaded from this package)."""
