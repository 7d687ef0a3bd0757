"""The one compiled module: the Yjs update reader (mano_core/document/_yreader_c.pyx, Cython,
with the opening of a delivery's envelopes, the merge of its updates, its parse scope and the
record ids' walk included from _open_c.pxi, _combine_c.pxi, _scope_c.pxi and _rootkeys_c.pxi).

Everything else is in pyproject.toml. The extension is optional: when it cannot be built (no C
compiler, no Python headers), the install goes on and the pure-Python reader is used (``.ci/run``
and ``python -m bench`` say which reader runs). The SHA-256 of the source is compiled
in (of both files), and the module is used only while it matches the source next to it
(mano_core/document/ynative.py): a stale build never runs."""

import hashlib
from pathlib import Path

from setuptools import Extension, setup

SOURCE = Path("mano_core/document/_yreader_c.pyx")
INCLUDED = (Path("mano_core/document/_open_c.pxi"), Path("mano_core/document/_combine_c.pxi"),
            Path("mano_core/document/_scope_c.pxi"), Path("mano_core/document/_rootkeys_c.pxi"))


def extensions() -> list[Extension]:
    try:
        from Cython.Build import cythonize
    except ImportError:  # pragma: no cover - Cython is a build requirement (pyproject.toml)
        print("warning: Cython is missing: the pure-Python Yjs reader will be used")
        return []
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in (SOURCE, *INCLUDED))).hexdigest()
    ext = Extension("mano_core.document._yreader_c", [str(SOURCE)], optional=True,
                    define_macros=[("MANO_SOURCE_SHA256", f'"{digest}"')])
    # Bounds checks stay on (the bytes read are a stranger's): see the module's docstring.
    built = cythonize([ext], compiler_directives={"language_level": 3, "boundscheck": True,
                                                  "wraparound": True}, quiet=True)
    for one in built:  # cythonize does not carry it over
        one.optional = True
    return built


setup(ext_modules=extensions())
