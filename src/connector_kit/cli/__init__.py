"""``connector-kit``: certify, record, diff, drift, matrix, fuzz, bench, scan, operations, and the live rigs.

Exit codes: 0 success; 1 a check failed (or, for ``certify``, did not run and was not
bypassed); 2 a usage or input problem, shown as one message (the traceback only with
``--debug``); 3 an internal error (a bug: please report it with the ``--debug`` output).

One module per command group (:mod:`.certify`, :mod:`.record`, :mod:`.compare`,
:mod:`.bench`, :mod:`.files`), the parser and entry point in :mod:`.app`, the consoles in
:mod:`.output`, and in :mod:`.paths` the checks on output and cassette paths that run before
any command's work (so a bad ``--out`` is exit 2 at once, not after a whole run).
"""

from . import output
from .app import build_parser, main

__all__ = ["build_parser", "main", "output"]
