"""The app's Python under the frame's own MicroPython, the fake portal in CPython.

``FakePortal(interpreter="micropython")`` (or ``BX24_FAKE_INTERPRETER=micropython``, or
pytest's ``--bx24-fake-interpreter=micropython``) runs what :meth:`FakePortal.load_app`
loads (the app's ``main.py``, its folder, the ``bx24`` library) in the MicroPython build the
frame boots (its npm package, in Node), so a fast fake test also proves the app runs where
operators run it: a ``dataclasses`` import, a ``str`` method MicroPython lacks, an f-string it
cannot parse fail the test, with MicroPython's traceback.

What crosses between the two: JSON values are copied (a dict the test reads is a snapshot);
other objects are references: the test's ``app["softphone"].registration`` or
``await app["calls"].dial("+1555")`` reach the object in MicroPython, and the app's calls to
the portal's bridge, clock and SIP phone reach CPython's. The app's ``print`` goes to the test's
output. The library objects a test makes itself (``portal.calls(...)``) stay in CPython.
Needs Node (``bx24 setup`` already does: the runtime is installed with npm).
"""

from __future__ import annotations

import inspect
import json
import os
import select
import shutil
import subprocess
import weakref
from pathlib import Path
from typing import Any

HOST = Path(__file__).with_name("static") / "micropython_host.mjs"
SIDE = Path(__file__).with_name("micropython_side.py")
LIBRARY = Path(__file__).resolve().parents[1] / "bx24"
ANSWER_TIMEOUT_S = 30.0
INTERPRETERS = ("cpython", "micropython")


_running: "weakref.WeakSet[MicroPythonApp]" = weakref.WeakSet()


def close_all() -> None:
    """End every MicroPython still running (the kit's pytest plugin does after each test: a
    portal and its MicroPython hold each other, so they would wait for the garbage collector)."""
    for app in list(_running):
        app.close()


class MicroPythonError(AssertionError):
    """The app's Python failed under MicroPython: its traceback, as MicroPython printed it."""


def default_interpreter() -> str:
    """Where :meth:`FakePortal.load_app` runs the app: ``BX24_FAKE_INTERPRETER`` (``cpython``,
    the default, or ``micropython``)."""
    name = os.environ.get("BX24_FAKE_INTERPRETER", "cpython").strip().lower() or "cpython"
    if name not in INTERPRETERS:
        raise ValueError(f"BX24_FAKE_INTERPRETER is cpython or micropython, not {name!r}")
    return name


def _complete(coroutine):
    """Run a coroutine of the fake that finishes at once (its REST and commands do)."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    coroutine.close()
    raise RuntimeError("the fake portal awaited something that does not finish at once")


class MicroPythonObject:
    """An object of the app's, in MicroPython: attributes, items, calls and ``await`` reach
    it there."""

    __slots__ = ("_host", "_ref")

    def __init__(self, host: "MicroPythonApp", ref: int):
        object.__setattr__(self, "_host", host)
        object.__setattr__(self, "_ref", ref)

    def __getattr__(self, name: str) -> Any:
        return self._host._request({"op": "getattr", "ref": self._ref, "name": name})

    def __setattr__(self, name: str, value: Any) -> None:
        self._host._request(
            {"op": "setattr", "ref": self._ref, "name": name, "value": self._host._out(value)}
        )

    def __getitem__(self, key: Any) -> Any:
        return self._host._request({"op": "getitem", "ref": self._ref, "key": self._host._out(key)})

    def __setitem__(self, key: Any, value: Any) -> None:
        host = self._host
        host._request(
            {"op": "setitem", "ref": self._ref, "key": host._out(key), "value": host._out(value)}
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        host = self._host
        return host._request(
            {
                "op": "call",
                "ref": self._ref,
                "args": host._out(list(args)),
                "kwargs": host._out(kwargs),
            }
        )

    def __await__(self):
        return self._host._request({"op": "await", "ref": self._ref})
        yield  # a generator: awaitable, answered at once (the test's loop waits meanwhile)

    def __repr__(self) -> str:
        return self._host._request({"op": "repr", "ref": self._ref})


class MicroPythonApp:
    """One MicroPython in Node, serving one :class:`~bx24_testing.fake.FakePortal`."""

    def __init__(self, app_folder: Path):
        from bx24_frame.runtime import MICROPYTHON, Runtime

        node = shutil.which("node")
        if node is None:
            raise RuntimeError("running the app under MicroPython needs Node (node on PATH)")
        module = Runtime().require().package_dir(MICROPYTHON) / "micropython.mjs"
        files = {
            f"/lib/bx24/{p.name}": str(p) for p in LIBRARY.glob("*.py") if p.name != "browser.py"
        }
        files.update({f"/app/{p.name}": str(p) for p in Path(app_folder).glob("*.py")})
        files["/lib/bx24_testing_side.py"] = str(SIDE)
        files["/lib/bx24_fakepage.py"] = str(SIDE.with_name("fakepage.py"))
        manifest = {"files": files, "side": "bx24_testing_side"}
        requests_r, self._requests = os.pipe()
        self._replies, replies_w = os.pipe()
        answers_r, self._answers = os.pipe()
        fds = (requests_r, replies_w, answers_r)  # micropython_host.mjs: requests in, replies
        self._process = subprocess.Popen(  # out, answers in
            [node, str(HOST), module.as_uri(), json.dumps(manifest), *map(str, fds)],
            stdin=subprocess.DEVNULL,
            pass_fds=fds,
        )
        for fd in fds:
            os.close(fd)
        self._buffer = b""
        self._serial = 0
        self._objects: dict[int, Any] = {}  # CPython objects MicroPython holds, by id
        self._serving = 0
        self._deferred: list[dict] = []
        self._finalizer = weakref.finalize(
            self, _close, self._process, (self._requests, self._replies, self._answers)
        )
        _running.add(self)
        ready = self._line()
        if not ready.get("ready"):
            raise MicroPythonError(f"MicroPython did not start: {ready}")

    # -- the wire -------------------------------------------------------------------------------

    def _line(self) -> dict:
        while b"\n" not in self._buffer:
            readable, _, _ = select.select([self._replies], [], [], ANSWER_TIMEOUT_S)
            if not readable:
                raise MicroPythonError(f"MicroPython did not answer within {ANSWER_TIMEOUT_S} s")
            chunk = os.read(self._replies, 1 << 16)
            if not chunk:
                raise MicroPythonError(
                    f"MicroPython exited ({self._process.poll()}): its output is above"
                )
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def _send(self, fd: int, message: dict) -> None:
        data = (json.dumps(message) + "\n").encode()
        while data:
            data = data[os.write(fd, data) :]

    def _request(self, message: dict) -> Any:
        """Ask MicroPython; serve what it asks meanwhile; its answer (or its error raised)."""
        if self._serving:  # MicroPython waits for our answer: it cannot answer now
            if message["op"] != "call":
                raise MicroPythonError(
                    f"cannot {message['op']} a MicroPython object while MicroPython waits for "
                    "CPython's answer"
                )
            self._deferred.append(message)  # a callback (an event, the phone's news): after
            return None
        self._serial += 1
        message["id"] = self._serial
        self._send(self._requests, message)
        while True:
            line = self._line()
            if "op" in line:
                self._serve(line)
                continue
            if line.get("re") != message["id"]:
                continue
            if "error" in line:
                raise MicroPythonError("under MicroPython:\n" + line["error"])
            return self._into(line.get("value"))

    def _serve(self, message: dict) -> None:
        self._serving += 1
        try:
            target = self._objects[message["ref"]]
            if message.get("name"):
                target = getattr(target, message["name"])
            value = target(*self._into(message["args"]), **self._into(message["kwargs"]))
            awaitable = inspect.iscoroutine(value)
            if awaitable:
                value = _complete(value)
            answer = {"value": self._out(value), "awaitable": awaitable}
        except Exception as exc:  # told to MicroPython, raised there
            answer = {"error": f"{exc}", "type": type(exc).__name__}
        finally:
            self._serving -= 1
        self._send(self._answers, answer)
        if not self._serving:
            deferred, self._deferred = self._deferred, []
            for message in deferred:  # nobody waits for their answers
                self._send(self._requests, message)

    # -- values ----------------------------------------------------------------------------------

    def _out(self, value: Any) -> Any:
        if value is None or isinstance(value, (str, int, float, bool)):
            return value
        if isinstance(value, MicroPythonObject):
            return {"$mp": value._ref}
        if isinstance(value, (list, tuple)):
            return [self._out(item) for item in value]
        if isinstance(value, dict) and all(isinstance(key, str) for key in value):
            return {key: self._out(item) for key, item in value.items()}
        ref = id(value)
        self._objects[ref] = value
        if inspect.isroutine(value):  # a function, a bound method: called, nothing more
            return {"$py": ref}
        methods = [n for n in dir(value) if not n.startswith("_") and callable(getattr(value, n))]
        return {"$py": ref, "methods": methods}  # getattr(bridge, "on_leader", None) works there

    def _into(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._into(item) for item in value]
        if isinstance(value, dict):
            if "$mp" in value:
                return MicroPythonObject(self, value["$mp"])
            if "$py" in value:
                return self._objects[value["$py"]]
            return {key: self._into(item) for key, item in value.items()}
        return value

    # -- what FakePortal asks --------------------------------------------------------------------

    def load(self, main_py: Path, portal: dict) -> dict:
        """Run ``main_py`` (copied in at ``/app``) as ``__main__`` over ``portal``'s pieces:
        ``{"app": its globals, "calls": the page's Calls or None}``."""
        return self._request(
            {"op": "load", "path": f"/app/{Path(main_py).name}", "portal": self._out(portal)}
        )

    def evaluate(self, expression: str, app: Any = None) -> Any:
        """``expression`` evaluated in MicroPython, over the app's globals (``app``: what
        :meth:`FakePortal.load_app` returned) and ``sys``: e.g. ``sys.implementation.name``."""
        namespace = app._ref if isinstance(app, MicroPythonObject) else None
        return self._request({"op": "eval", "expression": expression, "namespace": namespace})

    def settle(self, rounds: int = 1) -> None:
        """Let MicroPython's tasks run ``rounds`` turns; a failure of a callback it was given
        meanwhile (an event, the phone's news) is raised here."""
        errors = self._request({"op": "settle", "rounds": rounds})
        if errors:
            raise MicroPythonError("under MicroPython, a callback failed:\n" + "\n".join(errors))

    def close(self) -> None:
        """End the MicroPython (also when the portal is collected, or at exit)."""
        self._finalizer()


def _close(process: subprocess.Popen, fds: tuple[int, ...]) -> None:
    for fd in fds:  # its requests end: it exits
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
