"""Which Yjs update reader runs: the compiled one (``_yreader_c``, Cython, built by ``./dev``
and ``pip install``) when it is present and built from the source next to it, else the pure
Python one (``yreader``, ``ystate``: the reference both are tested against).

A build from another version of ``_yreader_c.pyx`` (someone edited it and did not rebuild) is
never used: the SHA-256 of the source is compiled into the module and compared here at import;
on a mismatch the Python reader runs and a warning says so. ``MANO_YREADER=python`` forces the
Python reader (to compare them); ``MANO_YREADER=compiled`` makes the absence of the compiled one
an ImportError (CI: the compiled reader must be the one tested)."""

from __future__ import annotations

import hashlib
import importlib
import os
import warnings
from pathlib import Path
from types import ModuleType
from typing import Final

from mano_core import bounded
from mano_core.crypto import batch, envelope

from . import ystate, yreader

SOURCE: Final = Path(__file__).with_name("_yreader_c.pyx")
INCLUDED: Final = tuple(Path(__file__).with_name(name)  # (included by SOURCE: hashed with it)
                       for name in ("_open_c.pxi", "_combine_c.pxi", "_scope_c.pxi",
                                     "_rootkeys_c.pxi"))


def _load() -> tuple[ModuleType | None, str]:
    wanted = os.environ.get("MANO_YREADER", "")
    if wanted == "python":
        return None, "python (MANO_YREADER=python)"
    why = ""
    try:
        module = importlib.import_module("mano_core.document._yreader_c")
    except ImportError as exc:
        module, why = None, f"the compiled reader is not built ({exc})"
    if module is not None:
        try:
            digest = hashlib.sha256(b"".join(p.read_bytes()
                                             for p in (SOURCE, *INCLUDED))).hexdigest()
        except OSError:
            digest = "(source missing)"
        if digest != module.SOURCE_SHA256:
            module, why = None, (f"the compiled reader was built from another version of "
                                 f"{SOURCE.name}: run ./dev to rebuild it")
    if module is None:
        if wanted == "compiled":
            raise ImportError(f"MANO_YREADER=compiled but {why}")
        warnings.warn(f"Yjs updates are read by the pure-Python reader: {why}",
                      RuntimeWarning, stacklevel=2)
        return None, f"python ({why})"
    module.bind(yreader.StructInfo, yreader.UpdateDeps, yreader._read, ystate.read_large)
    module.bind_scope(yreader.Refs)
    module.bind_open(envelope.EnvelopeHeader, envelope.Envelope, envelope.Authenticated,
                     envelope.Opened, envelope._COMPARTMENTS, hashlib.sha256)
    return module, f"compiled ({Path(module.__file__ or '').name})"


compiled, READER = _load()
if compiled is not None:
    bounded.use_compiled(compiled)  # the msgpack nesting walk (bounded.check_depth) too
    batch.use_compiled(compiled)  # a delivery's chain links (batch.authenticated_by_chain)
