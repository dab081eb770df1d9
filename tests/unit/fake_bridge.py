"""The fake bridge (bx24_testing.fake: the one users get too) and helpers for the library's
unit tests: the same JSON protocol as bridge.js, so the logic, JSON decoding included, is
tested in CPython."""

import threading

from bx24_testing.fake import OMIT, FakeBridge, run  # noqa: F401  (the kit's fake: one fake)


def in_thread(function):
    """``function()`` in a new thread (where no event loop runs); its result or exception."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


INITIALIZED = {
    "CALL_ID": "externalCall.abc.123",
    "PHONE_NUMBER": "+79991234567",
    "LINE_NUMBER": "74951234567",
    "LINE_NAME": "Sales",
    "CRM_ENTITY_TYPE": "CONTACT",
    "CRM_ENTITY_ID": 42,
    "CRM_ACTIVITY_ID": 7,
    "CRM_BINDINGS": [{"ENTITY_TYPE": "CONTACT", "ENTITY_ID": 42}],
    "CALL_DIRECTION": "incoming",
    "CALL_STATE": "connecting",
    "CALL_LIST_MODE": False,
}
