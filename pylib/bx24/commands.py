"""The nine call-card commands: their Bitrix24 names, argument checks and answers.

Pure logic (no browser): each builder checks the Python arguments and returns
``(command, params)`` ready for ``BX24.placement.call``; :func:`check_answer`
turns the decoded callback argument into a value or the matching exception.
Checking before sending matters because Bitrix24 answers a bad argument with
silence or an error that names the field, not the mistake.
"""

from .errors import UnexpectedResultError, error_for

UI_STATES = (
    "incoming",
    "transferIncoming",
    "outgoing",
    "connectingIncoming",
    "connectingOutgoing",
    "connected",
    "transferring",
    "transferFailed",
    "transferConnected",
    "error",
    "moneyError",
    "redial",
)

SET_MUTE = "CallCardSetMute"
SET_HOLD = "CallCardSetHold"
SET_UI_STATE = "CallCardSetUiState"
GET_LIST_UI_STATES = "CallCardGetListUiStates"
SET_CARD_TITLE = "CallCardSetCardTitle"
SET_STATUS_TEXT = "CallCardSetStatusText"
START_TIMER = "CallCardStartTimer"
STOP_TIMER = "CallCardStopTimer"
CLOSE = "CallCardClose"

COMMANDS = (
    SET_MUTE, SET_HOLD, SET_UI_STATE, GET_LIST_UI_STATES, SET_CARD_TITLE,
    SET_STATUS_TEXT, START_TIMER, STOP_TIMER, CLOSE,
)

# In the browser these get no callback at all on success (the desktop app answers []).
TIMER_COMMANDS = (START_TIMER, STOP_TIMER)


def _bool(name, value):
    if type(value) is not bool:
        raise TypeError("{} must be True or False, not {!r}".format(name, value))
    return value


def _str(name, value):
    if not isinstance(value, str):
        raise TypeError("{} must be a str, not {!r}".format(name, value))
    return value


def set_mute(muted):
    return SET_MUTE, {"muted": _bool("muted", muted)}


def set_hold(held):
    return SET_HOLD, {"held": _bool("held", held)}


def set_ui_state(state, auto_start_timer=True):
    if not isinstance(state, str) or state not in UI_STATES:
        raise ValueError("unknown UI state {!r}: use one of {}".format(state, ", ".join(UI_STATES)))
    params = {"uiState": state}
    if not _bool("auto_start_timer", auto_start_timer):
        params["disableAutoStartTimer"] = True
    return SET_UI_STATE, params


def get_list_ui_states():
    return GET_LIST_UI_STATES, {}


def set_card_title(title):
    return SET_CARD_TITLE, {"title": _str("title", title)}


def set_status_text(text):
    return SET_STATUS_TEXT, {"statusText": _str("text", text)}


def start_timer():
    return START_TIMER, {}


def stop_timer():
    return STOP_TIMER, {}


def close():
    return CLOSE, {}


def _error_entry(answer):
    """The ``{result: 'error', ...}`` object in ``answer`` (bare or in an array), or None."""
    if isinstance(answer, dict) and answer.get("result") == "error":
        return answer
    if isinstance(answer, list):
        for item in answer:
            if isinstance(item, dict) and item.get("result") == "error":
                return item
    return None


def check_answer(command, answer):
    """Raise the error ``answer`` carries, else return it.

    Any answer without an error object counts as success (Bitrix24 sends ``[]``;
    other clients may differ), except for ``CallCardGetListUiStates`` whose
    answer must be a list of names.
    """
    entry = _error_entry(answer)
    if entry is not None:
        raise error_for(command, entry.get("errorCode"), answer)
    if command == GET_LIST_UI_STATES:
        if not isinstance(answer, list) or not all(isinstance(s, str) for s in answer):
            raise UnexpectedResultError(
                command, None, answer,
                "{} answered {!r}, expected a list of state names".format(command, answer),
            )
    return answer
