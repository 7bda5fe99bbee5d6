"""Work-around for a reference-counting bug of PySide6 6.12.0: emit signals through `emit()`.

In PySide6 6.12.0 `SignalInstance.emit()` returns True without taking a new reference, so every
emit from Python takes one reference from `True`; after a few thousand emits (a minute of painting)
the interpreter aborts with "bool_dealloc: deallocating True or False". `emit()` measures the leak
once at import and gives back exactly what each emit took (nothing on a fixed PySide6). Never connect
a signal to another signal's `.emit` (that calls the leaking path from C++): connect signal to signal.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

_PROBES = 8
_py_incref = ctypes.pythonapi.Py_IncRef
_py_incref.argtypes = [ctypes.py_object]
_py_incref.restype = None


class _Probe(QObject):
    fired = Signal()


def _measure_leak() -> int:
    """References of True lost per emit (0 on a sound PySide6), compensating the probe's own emits."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(_PROBES):
        probe.fired.emit()
    lost = max(0, before - sys.getrefcount(True))
    for _ in range(lost):
        _py_incref(True)
    return round(lost / _PROBES)


LOST_PER_EMIT = _measure_leak()


def emit(signal, *args) -> None:
    """`signal.emit(*args)`, returning the reference PySide6 6.12.0 steals from True."""
    result = signal.emit(*args)
    if LOST_PER_EMIT and result is True:
        for _ in range(LOST_PER_EMIT):
            _py_incref(result)
