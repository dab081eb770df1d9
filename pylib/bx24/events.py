"""The 17 call-card events: their names and their payloads as Python objects.

Pure logic (no browser). Bitrix24 passes loosely typed JavaScript values
(ids as numbers or digit strings, absent keys, '' for "none"); :func:`parse`
normalises them once, here, so handlers get documented objects and never
have to re-check Bitrix24's quirks. Anything that cannot be read raises
:class:`~bx24.errors.MalformedPayloadError`.
"""

from .errors import MalformedPayloadError

PREFIX = "BackgroundCallCard::"

INITIALIZED = "initialized"
ENTITY_CHANGED = "entityChanged"
ADD_COMMENT = "addCommentButtonClick"
MUTE = "muteButtonClick"
HOLD = "holdButtonClick"
TRANSFER = "transferButtonClick"
QUALITY_METER = "qualityMeterClick"
DIALPAD = "dialpadButtonClick"
CLOSE = "closeButtonClick"
CANCEL_TRANSFER = "cancelTransferButtonClick"
COMPLETE_TRANSFER = "completeTransferButtonClick"
HANGUP = "hangupButtonClick"
NEXT = "nextButtonClick"
SKIP = "skipButtonClick"
ANSWER = "answerButtonClick"
MAKE_CALL = "makeCallButtonClick"
NOTIFY_ADMIN = "notifyAdminButtonClick"

# Events whose handlers get no argument (whatever Bitrix24 passed is ignored).
NO_PAYLOAD = (
    CLOSE, CANCEL_TRANSFER, COMPLETE_TRANSFER, HANGUP, NEXT, SKIP, ANSWER,
    MAKE_CALL, NOTIFY_ADMIN,
)
EVENTS = (INITIALIZED, ENTITY_CHANGED, ADD_COMMENT, MUTE, HOLD, TRANSFER,
          QUALITY_METER, DIALPAD) + NO_PAYLOAD

DIALPAD_KEYS = "0123456789*#"


def event_name(name):
    """The short Bitrix24 name (``"muteButtonClick"``) for ``name``, which may also
    carry the ``BackgroundCallCard::`` prefix; ValueError for anything else."""
    short = name[len(PREFIX):] if isinstance(name, str) and name.startswith(PREFIX) else name
    if short not in EVENTS:
        raise ValueError("unknown call-card event {!r}: use one of {}".format(
            name, ", ".join(EVENTS)))
    return short


class CrmBinding:
    """One CRM entity the call is bound to."""

    def __init__(self, entity_type, entity_id):
        self.entity_type = entity_type
        self.entity_id = entity_id

    def __eq__(self, other):
        return (isinstance(other, CrmBinding) and self.entity_type == other.entity_type
                and self.entity_id == other.entity_id)

    def __repr__(self):
        return "CrmBinding({!r}, {!r})".format(self.entity_type, self.entity_id)


class CallInfo:
    """The call behind the card (``initialized``). ``None`` means "none/unknown";
    ``raw`` is the payload exactly as Bitrix24 sent it."""

    def __init__(self, raw):
        self.raw = raw
        self.call_id = None
        self.phone_number = None
        self.line_number = None
        self.line_name = None
        self.crm_entity_type = None
        self.crm_entity_id = None
        self.crm_activity_id = None
        self.crm_bindings = []
        self.direction = None
        self.state = None
        self.call_list_mode = False

    def __repr__(self):
        return "CallInfo(call_id={!r}, phone_number={!r}, direction={!r}, state={!r})".format(
            self.call_id, self.phone_number, self.direction, self.state)


class Entity:
    """The CRM client shown on the card (``entityChanged``)."""

    def __init__(self, raw, phone_number, crm_entity_type, crm_entity_id):
        self.raw = raw
        self.phone_number = phone_number
        self.crm_entity_type = crm_entity_type
        self.crm_entity_id = crm_entity_id

    def __repr__(self):
        return "Entity(phone_number={!r}, crm_entity_type={!r}, crm_entity_id={!r})".format(
            self.phone_number, self.crm_entity_type, self.crm_entity_id)


class TransferTarget:
    """Where the operator wants to transfer the call (``transferButtonClick``).
    ``target`` is an employee id (all digits: ``is_user``, ``user_id``) or a phone
    number from the employee's profile (``is_phone``)."""

    def __init__(self, raw, phone_number, target):
        self.raw = raw
        self.phone_number = phone_number
        self.target = target
        self.is_user = target.isdigit()
        self.is_phone = not self.is_user
        self.user_id = int(target) if self.is_user else None

    def __repr__(self):
        return "TransferTarget(phone_number={!r}, target={!r})".format(
            self.phone_number, self.target)


class _Reader:
    """Reads typed fields out of one payload, failing with the event's name."""

    def __init__(self, event, payload):
        self.event = event
        self.payload = payload
        if not isinstance(payload, dict):
            self.fail("expected an object")

    def fail(self, reason):
        raise MalformedPayloadError(self.event, self.payload, reason)

    def text(self, key, required=False):
        """A str field; None when absent (or a failure when required)."""
        if key not in self.payload or self.payload[key] is None:
            if required:
                self.fail("missing " + key)
            return None
        value = self.payload[key]
        if not isinstance(value, str):
            self.fail("{} is not a string".format(key))
        return value

    def optional_text(self, key, none_values=("",)):
        """A str field where absent or one of ``none_values`` means None."""
        value = self.text(key)
        return None if value in none_values else value

    def ident(self, key, required=False):
        """An id: int or digit string; absent, '' and 0 mean None."""
        if key not in self.payload or self.payload[key] is None:
            if required:
                self.fail("missing " + key)
            return None
        value = _to_id(self.payload[key])
        if value is False:
            self.fail("{} is not an id".format(key))
        return value

    def flag(self, key, default=False):
        if key not in self.payload or self.payload[key] is None:
            return default
        value = _to_flag(self.payload[key])
        if value is None:
            self.fail("{} is not a boolean".format(key))
        return value

    def require(self, *keys):
        for key in keys:
            if key not in self.payload:
                self.fail("missing " + key)


def _to_id(value):
    """int id, None for 0 or '', False when unreadable."""
    if type(value) is int:
        return value or None
    if isinstance(value, str):
        if value == "":
            return None
        if value.isdigit():
            return int(value) or None
    return False


def _to_flag(value):
    """bool for true/false, 1/0, 'Y'/'N'; None when unreadable."""
    if type(value) is bool:
        return value
    if type(value) is int and value in (0, 1):
        return value == 1
    if value in ("Y", "N"):
        return value == "Y"
    return None


def _initialized(payload):
    r = _Reader(INITIALIZED, payload)
    info = CallInfo(payload)
    info.call_id = r.text("CALL_ID", required=True)
    if not info.call_id:
        r.fail("CALL_ID is empty")
    info.phone_number = r.optional_text("PHONE_NUMBER")
    info.line_number = r.text("LINE_NUMBER")
    info.line_name = r.text("LINE_NAME")
    info.crm_entity_type = r.optional_text("CRM_ENTITY_TYPE")
    info.crm_entity_id = r.ident("CRM_ENTITY_ID")
    info.crm_activity_id = r.ident("CRM_ACTIVITY_ID")
    bindings = payload.get("CRM_BINDINGS")
    if bindings is None:
        bindings = []
    if not isinstance(bindings, list):
        r.fail("CRM_BINDINGS is not a list")
    for item in bindings:
        if not isinstance(item, dict):
            r.fail("CRM_BINDINGS holds a non-object")
        entity_type = item.get("ENTITY_TYPE")
        entity_id = _to_id(item.get("ENTITY_ID"))
        if not isinstance(entity_type, str) or not entity_id:
            r.fail("CRM_BINDINGS holds {!r}".format(item))
        info.crm_bindings.append(CrmBinding(entity_type, entity_id))
    info.direction = r.text("CALL_DIRECTION")
    info.state = r.text("CALL_STATE")
    info.call_list_mode = r.flag("CALL_LIST_MODE")
    return info


def _entity_changed(payload):
    r = _Reader(ENTITY_CHANGED, payload)
    r.require("PHONE_NUMBER", "CRM_ENTITY_TYPE", "CRM_ENTITY_ID")
    return Entity(
        payload,
        r.optional_text("PHONE_NUMBER", ("", "unknown")),
        r.optional_text("CRM_ENTITY_TYPE"),
        r.ident("CRM_ENTITY_ID"),
    )


def _transfer(payload):
    r = _Reader(TRANSFER, payload)
    target = payload.get("target")
    if type(target) is int:
        target = str(target)
    if not isinstance(target, str) or not target:
        r.fail("target is missing or not a string")
    return TransferTarget(payload, r.optional_text("phoneNumber"), target)


def _comment(payload):
    if not isinstance(payload, str):
        raise MalformedPayloadError(ADD_COMMENT, payload, "expected a string")
    return payload


def _flag_event(event):
    def parse(payload):
        value = _to_flag(payload)
        if value is None:
            raise MalformedPayloadError(event, payload, "expected true or false")
        return value
    return parse


def _quality(payload):
    value = payload
    if isinstance(value, str) and len(value) == 1 and value.isdigit():
        value = int(value)
    if type(value) is not int or not 1 <= value <= 5:
        raise MalformedPayloadError(QUALITY_METER, payload, "expected a rating '1'..'5'")
    return value


def _dialpad(payload):
    key = str(payload) if type(payload) is int else payload
    if not isinstance(key, str) or len(key) != 1 or key not in DIALPAD_KEYS:
        raise MalformedPayloadError(DIALPAD, payload, "expected one of 0-9, * or #")
    return key


_PARSERS = {
    INITIALIZED: _initialized,
    ENTITY_CHANGED: _entity_changed,
    ADD_COMMENT: _comment,
    MUTE: _flag_event(MUTE),
    HOLD: _flag_event(HOLD),
    TRANSFER: _transfer,
    QUALITY_METER: _quality,
    DIALPAD: _dialpad,
}


def parse(name, payload):
    """The handler arguments for event ``name`` (short name) carrying ``payload``:
    ``()`` for events without a payload, else a 1-tuple with the parsed value."""
    parser = _PARSERS.get(name)
    if parser is None:
        return ()
    return (parser(payload),)
