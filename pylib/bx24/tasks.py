"""Running a coroutine from a synchronous callback (a JS event, a softphone's notice), on
Pyodide and MicroPython alike, with its failure logged instead of lost.

    softphone.on_ring(lambda number: bx24.spawn(calls.incoming(number)))

:func:`call_handler` is the same for a callback an app registers (``def`` or ``async def``):
card event handlers, a softphone's registration hooks.

A task nobody keeps a reference to may be garbage-collected mid-run, and an exception in a
task nobody awaits is never seen: :func:`spawn` keeps the task until it is done and hands its
failure to ``log`` (the console and the app's server by default in the page).
"""

import asyncio

from .log import format_exception, stderr

_running = []


async def _guarded(coroutine, log, what):
    try:
        return await coroutine
    except Exception as exc:  # a task's failure is reported, never raised into the loop
        (log or stderr)("{} raised:\n{}".format(what, format_exception(exc)))


def is_coroutine(value):
    """What ``async def`` returns, on either interpreter (MicroPython has no ``inspect``)."""
    return hasattr(value, "send") and hasattr(value, "throw")


def call_handler(fn, args=(), log=None, what=None):
    """``fn(*args)`` from a synchronous caller: a coroutine it returns runs as a task
    (:func:`spawn`); its failure, either way, goes to ``log`` with its traceback, never raised."""
    what = what or getattr(fn, "__name__", None) or repr(fn)
    try:
        result = fn(*args)
        if is_coroutine(result):
            spawn(result, log, what)
    except Exception as exc:  # the handler, or no running event loop for its task
        (log or stderr)("{} raised:\n{}".format(what, format_exception(exc)))


def spawn(coroutine, log=None, what=None):
    """Start ``coroutine`` as a task now; its failure goes to ``log`` (one message string).
    Returns the task. ``what`` names it in that message."""
    name = what or getattr(coroutine, "__name__", None) or "a task"
    guarded = _guarded(coroutine, log, name)
    try:
        task = asyncio.create_task(guarded)
    except Exception:  # e.g. no event loop: close both so nothing warns "never awaited"
        guarded.close()
        coroutine.close()
        raise
    _running[:] = [t for t in _running if not t.done()]
    _running.append(task)
    return task
