"""REST parameters as Bitrix24's JS library sends them: form-encoded, PHP-style.

``{"FIELDS": {"TITLE": "x"}, "SELECT": ["ID"], "ACTIVE": True}`` becomes
``FIELDS[TITLE]=x&SELECT[0]=ID&ACTIVE=true``: nested maps and lists as ``name[key]``,
``True``/``False`` as the strings ``true``/``false`` (what JavaScript's ``String()`` gives),
``None`` and ``{}`` left out, ``[]`` as ``name=``; names and values percent-encoded like
``encodeURIComponent``. Pure Python that MicroPython runs too (no ``urllib``).
"""

_KEEP = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()")


def quote(text):
    """``encodeURIComponent`` of ``text``."""
    out = []
    for byte in str(text).encode("utf-8"):
        out.append(chr(byte) if byte in _KEEP else "%{:02X}".format(byte))
    return "".join(out)


def _scalar(value):
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value == int(value) and abs(value) < 1e21:
        return str(int(value))  # JavaScript writes 2.0 as "2"
    return str(value)


def _pairs(value, name, out):
    if value is None:
        return
    if isinstance(value, dict):
        for key in value:
            _pairs(value[key], name + "[" + quote(key) + "]" if name else quote(key), out)
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append(name + "=")
        for index, item in enumerate(value):
            _pairs(item, name + "[" + str(index) + "]", out)
    else:
        out.append(name + "=" + quote(_scalar(value)))


def encode(params):
    """The form body of ``params`` (a dict), without ``auth`` (the bridge adds it)."""
    if params is None:
        return ""
    if not isinstance(params, dict):
        raise TypeError("REST params are a dict, got {}".format(type(params).__name__))
    out = []
    _pairs(params, "", out)
    return "&".join(out)
