"""Errors raised by the faces package."""


class FacesUnavailableError(RuntimeError):
    """The face models cannot run here (onnxruntime or a model file is missing).

    Callers are expected to turn this into a warning and skip face checks.
    """
