"""PyYAML, imported without compiling the regular expressions it does not use yet.

Importing PyYAML compiles ten patterns, and one of them, the pure-Python reader's
class of non-printable characters (yaml/reader.py, `Reader.NON_PRINTABLE`, in PyYAML 6.0.1
to 6.0.4), spans most of Unicode: `re` walks it character by character, 57 M
instructions, a third of what `python -c "import yaml"` costs. shipspec reads YAML with
libyaml's parser (loading.SAFE_LOADER), which never uses that pattern, and `generate` starts
on every Argo CD refresh, a waiting bump in every CI run. So while PyYAML's modules run,
`re.compile` hands out patterns that compile on their first use: each one works as before,
the resolver's are compiled when a scalar first needs them, the reader's only if a
pure-Python loader reads something.

Every module of shipspec that reads YAML imports it from here: `from shipspec.pyyaml import
yaml`. Where PyYAML was imported before (a program using shipspec as a library), this is the
plain import; one that imports PyYAML after shipspec gets this PyYAML, whose patterns
(`yaml.reader.Reader.NON_PRINTABLE`, the resolver's) work as always but are not
`re.Pattern` instances.
"""

import re
import sys
from typing import Any

__all__ = ["yaml"]  # `from shipspec.pyyaml import yaml`

_compile = re.compile


class _PatternCompiledOnUse:
    """Stands for `re.compile(pattern, flags)`; compiles it the first time it is used."""

    __slots__ = ("_arguments", "_compiled")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._arguments = (pattern, flags)
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        if self._compiled is None:
            self._compiled = _compile(*self._arguments)
        return getattr(self._compiled, name)


def _compile_for_pyyaml(pattern: str, flags: int = 0) -> "re.Pattern[str] | _PatternCompiledOnUse":
    # Only PyYAML's own modules get deferred patterns: another thread compiling meanwhile
    # (shipspec imported as a library) still gets what re.compile returns.
    if sys._getframe(1).f_globals.get("__name__", "").startswith("yaml."):
        return _PatternCompiledOnUse(pattern, flags)
    return _compile(pattern, flags)


if "yaml" not in sys.modules:
    re.compile = _compile_for_pyyaml  # type: ignore[assignment]
try:
    import yaml
finally:
    re.compile = _compile
