"""Where the library reports what it cannot raise: malformed events, failing
handlers, late errors. Works on CPython, Pyodide (console via stderr) and
MicroPython (which has ``sys.print_exception`` instead of ``traceback``)."""

import sys


def format_exception(exc):
    """The traceback of ``exc`` as text, on every interpreter."""
    try:
        import traceback
        return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except (ImportError, AttributeError):
        import io
        out = io.StringIO()
        sys.print_exception(exc, out)
        return out.getvalue()


def stderr(message):
    """The default sink: one line on stderr (the browser console in PyScript)."""
    print("[bx24] " + message, file=sys.stderr)
