"""Where the frame runs: ``BX24.placement.info()`` and ``getInterface()`` as objects.

Pure logic. The call card exists only in PAGE_BACKGROUND_WORKER; everywhere else
Bitrix24 silently ignores its commands, so :func:`require_background_worker`
turns that silence into a clear error.
"""

import json

from .errors import PlacementError

PAGE_BACKGROUND_WORKER = "PAGE_BACKGROUND_WORKER"


class PlacementInfo:
    """``name`` of the placement and its ``options`` dict (``uri`` is ``options['URI']``,
    the portal page the frame was loaded into)."""

    def __init__(self, name, options):
        self.name = name
        self.options = options

    @property
    def uri(self):
        return self.options.get("URI")

    @property
    def is_background_worker(self):
        return self.name == PAGE_BACKGROUND_WORKER

    def __repr__(self):
        return "PlacementInfo({!r}, {!r})".format(self.name, self.options)


class Interface:
    """What the placement offers (``getInterface``): command and event names."""

    def __init__(self, commands, events, raw):
        self.commands = commands
        self.events = events
        self.raw = raw

    def __repr__(self):
        return "Interface(commands={!r}, events={!r})".format(self.commands, self.events)


def parse_info(data):
    """PlacementInfo from ``BX24.placement.info()``; options may also be a JSON string
    (that is how PLACEMENT_OPTIONS reaches the frame)."""
    if not isinstance(data, dict):
        raise PlacementError("BX24.placement.info() returned {!r}, not an object".format(data))
    options = data.get("options")
    if isinstance(options, str):
        try:
            options = json.loads(options) if options else {}
        except ValueError:
            raise PlacementError(
                "placement options are not JSON: {!r}".format(options)) from None
    if options is None or options == []:  # PHP's empty array
        options = {}
    if not isinstance(options, dict):
        raise PlacementError("placement options are {!r}, not an object".format(options))
    return PlacementInfo(data.get("placement"), options)


def parse_interface(data):
    if not isinstance(data, dict):
        raise PlacementError("BX24.placement.getInterface() gave {!r}, not an object".format(data))
    return Interface(list(data.get("command") or []), list(data.get("event") or []), data)


def require_background_worker(info):
    if not info.is_background_worker:
        raise PlacementError(
            "this frame runs in placement {!r}, not {}: call-card commands and events exist "
            "only there (register the handler with placement.bind PLACEMENT={})".format(
                info.name, PAGE_BACKGROUND_WORKER, PAGE_BACKGROUND_WORKER))
    return info
