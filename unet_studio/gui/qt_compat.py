"""Guard against the reference-count bugs of PySide6 6.12.0 (imported by `unet_studio.gui` first).

PySide6 6.12.0 drops one reference to True on every Python `Signal.emit()`, and references to None each
time C++ calls a Python override or slot that returns nothing (`paint`, `QRunnable.run`, timer slots).
After a few thousand of these, CPython 3.11 frees the singleton and aborts ("bool_dealloc" /
"none_dealloc"): a minute of painting is enough. CPython 3.12 made these singletons immortal (PEP 683);
where the bug is present on an older Python we do the same, once, by giving None, True and False 2**40
extra references, so their counts can never reach zero. PySide6 6.11.3 is free of the bug; the real fix
is to keep 6.12.0 out of the environment.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

EXTRA_REFERENCES = 1 << 40
_PROBES = 8


class _Probe(QObject):
    fired = Signal()


def emit_loses_references() -> bool:
    """Whether `Signal.emit()` takes a reference from True (the PySide6 6.12.0 bug)."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(_PROBES):
        probe.fired.emit()
    return sys.getrefcount(True) < before


def protect_singletons() -> bool:
    """Make None, True and False effectively immortal if this PySide6 loses references to them."""
    if sys.version_info >= (3, 12) or not emit_loses_references():
        return False
    for singleton in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(singleton))  # ob_refcnt: the first field of a PyObject
        count.value += EXTRA_REFERENCES
    return True


PROTECTED = protect_singletons()
