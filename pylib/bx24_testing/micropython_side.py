# Runs inside the frame's MicroPython (bx24_testing/static/micropython_host.mjs), never in
# CPython (imported there as bx24_testing_side): the app's end of bx24_testing.micropython.
# Objects cross as JSON values (copied) or as references: {"$mp": n} an object here,
# {"$py": n} one in CPython (a Remote here).
import asyncio
import io
import json
import sys

import bx24_host

if "/lib" not in sys.path:
    sys.path.append("/lib")
_objects = {}
_serial = [0]
_errors = []  # failures of callbacks CPython did not wait for: told at the next settle
_SCALARS = (str, int, float, bool, type(None))


def _ref(obj):
    _serial[0] += 1
    _objects[_serial[0]] = obj
    return {"$mp": _serial[0]}


def _out(value):
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, Remote):
        return {"$py": value._ref}
    if isinstance(value, (list, tuple)):
        return [_out(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _out(item) for key, item in value.items()}
    return _ref(value)


def _in(value):
    if isinstance(value, list):
        return [_in(item) for item in value]
    if isinstance(value, dict):
        if "$mp" in value:
            return _objects[value["$mp"]]
        if "$py" in value:
            return Remote(value["$py"], value.get("methods"))
        return {key: _in(item) for key, item in value.items()}
    return value


_main_path = [None]  # main.py runs as "<stdin>" (PyScript's way): named as the test knows it


def _named(text):
    if not _main_path[0]:
        return text
    return text.replace('File "<stdin>"', 'File "' + _main_path[0] + '"')


def _traceback(exc):
    text = io.StringIO()
    sys.print_exception(exc, text)
    return _named(text.getvalue())


class CPythonError(Exception):
    pass


_BUILTIN = {"AssertionError": AssertionError, "KeyError": KeyError, "ValueError": ValueError,
            "TypeError": TypeError, "RuntimeError": RuntimeError,
            "AttributeError": AttributeError, "IndexError": IndexError}


async def _value(value):
    return value


class Remote:
    """An object of CPython's (the FakePortal's bridge, clock, phone): calls cross at once."""

    def __init__(self, ref, methods=None):
        self._ref = ref
        self._methods = methods  # None: a function (no methods of its own)

    def _ask(self, message):
        answer = json.loads(bx24_host.ask(json.dumps(message)))
        if "error" in answer:
            raise _BUILTIN.get(answer.get("type"), CPythonError)(answer["error"])
        value = _in(answer.get("value"))
        return _value(value) if answer.get("awaitable") else value

    def __call__(self, *args, **kwargs):
        return self._ask({"op": "call", "ref": self._ref, "args": _out(list(args)),
                          "kwargs": _out(kwargs)})

    def __getattr__(self, name):
        if self._methods is None or name not in self._methods:
            raise AttributeError(name)
        ref = self._ref

        def method(*args, **kwargs):
            return self._ask({"op": "call", "ref": ref, "name": name, "args": _out(list(args)),
                              "kwargs": _out(kwargs)})
        return method


def _reply(message_id, value=None, error=None):
    if message_id is None:
        return
    if error is not None:
        answer = {"re": message_id, "error": _traceback(error),
                  "type": type(error).__name__}
    else:
        answer = {"re": message_id, "value": _out(value)}
    bx24_host.send(json.dumps(answer))


async def _settle(message_id, rounds):
    for _ in range(rounds):
        await asyncio.sleep(0)
    errors = _errors[:]
    del _errors[:]
    _reply(message_id, errors)


async def _await(message_id, awaitable):
    try:
        value = await awaitable
    except Exception as exc:
        _reply(message_id, error=exc)
        return
    _reply(message_id, value)


_page = {}


def _prepare(line):
    """Before the app's main.py runs (the host runs it as PyScript does): ``bx24.page``'s
    functions over CPython's FakePortal (bx24_testing/fakepage.py, as in CPython), its folder
    importable, ``__file__``; its source, or None (told: unreadable)."""
    import __main__

    import bx24
    import bx24.page

    from bx24_fakepage import page_functions

    message = json.loads(line)
    portal = _in(message["portal"])
    functions = page_functions(bx24, _page, **portal)
    for name, function in functions.items():
        setattr(bx24.page, name, function)
    path = _main_path[0] = message["path"]
    folder = path.rsplit("/", 1)[0]
    if folder not in sys.path:
        sys.path.insert(0, folder)
    __main__.__dict__["__file__"] = path
    try:
        with open(path) as source:
            return source.read()
    except Exception as exc:
        _reply(message["id"], error=exc)
        return None


def _loaded(line):
    import __main__

    _reply(json.loads(line)["id"], {"app": _ref(__main__.__dict__), "calls": _page.get("calls")})


def _failed(line, text):
    """main.py raised: its traceback (the host's words for it), main.py named."""
    message_id = json.loads(line)["id"]
    bx24_host.send(json.dumps({"re": message_id, "error": _named(text), "type": "Exception"}))


def _handle(line):
    message = json.loads(line)
    message_id = message.get("id")
    op = message["op"]
    try:
        if op == "settle":
            asyncio.create_task(_settle(message_id, message["rounds"]))
            return
        if op == "await":
            asyncio.create_task(_await(message_id, _objects[message["ref"]]))
            return
        target = _objects[message["ref"]] if "ref" in message else None
        if op == "getattr":
            value = getattr(target, message["name"])
        elif op == "setattr":
            setattr(target, message["name"], _in(message["value"]))
            value = None
        elif op == "getitem":
            value = target[_in(message["key"])]
        elif op == "setitem":
            target[_in(message["key"])] = _in(message["value"])
            value = None
        elif op == "call":
            value = target(*_in(message["args"]), **_in(message["kwargs"]))
        elif op == "repr":
            value = repr(target)
        elif op == "eval":
            scope = dict(_objects[message["namespace"]]) if message["namespace"] else {}
            scope["sys"] = sys
            value = eval(message["expression"], scope)
        else:
            raise ValueError("unknown op " + op)
    except Exception as exc:
        if message_id is None:  # a callback nobody waits for: say it at the next settle
            _errors.append(_traceback(exc))
        _reply(message_id, error=exc)
        return
    _reply(message_id, value)


def _bx24_handle(line):
    try:
        _handle(line)
    except Exception as exc:  # the protocol itself: never silent
        sys.print_exception(exc)
