"""Errors that fpgaq reports to its users: one line, naming the bad value and the valid choices."""


class FpgaqError(Exception):
    """Base class of every error that the CLI turns into `error: ...` and exit status 2."""


class BoardError(FpgaqError):
    """A board name or board file is invalid."""


class ModelError(FpgaqError):
    """A model file cannot be read or is not a QONNX model fpgaq can lower."""


class UnsupportedOpError(ModelError):
    """The model contains an op (or an op configuration) that the frontend cannot lower exactly."""
