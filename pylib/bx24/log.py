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


QUOTE_CHARS = 300


def shorten(value, limit=QUOTE_CHARS):
    """``repr(value)``, cut to ``limit`` characters with the full length said: a log line
    quotes a payload, it does not copy megabytes of it into the console."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return text
    return "{}… ({} characters)".format(text[:limit], len(text))


def stderr(message):
    """The default sink: one line on stderr (the browser console in PyScript)."""
    print("[bx24] " + message, file=sys.stderr)
