"""Telephony REST for a softphone worker: register and finish calls, show and hide their card.

``telephony.externalcall.register`` opens Bitrix24's call card for a call your softphone
handles and gives its ``CALL_ID``; ``finish`` ends it (and writes it to the CRM);
``show``/``hide`` open or close its card for other operators; ``attachRecord`` adds the
recording. Names of parameters and codes are Bitrix24's (docs/bitrix24.md).

Registering again within 30 minutes with the same number, type, user, line and
``EXTERNAL_CALL_ID`` returns the **same** ``CALL_ID``: :meth:`Telephony.register` gives every
call a fresh ``EXTERNAL_CALL_ID`` unless you pass one, so two calls never collapse into one.
"""

# TYPE of register
OUTGOING = 1
INCOMING = 2
INCOMING_REDIRECTED = 3
CALLBACK = 4
INFORMATIONAL = 5
TYPES = (OUTGOING, INCOMING, INCOMING_REDIRECTED, CALLBACK, INFORMATIONAL)


class Status:
    """``STATUS_CODE`` of ``telephony.externalcall.finish``."""

    ANSWERED = "200"
    MISSED = "304"
    NO_FUNDS = "402"
    FORBIDDEN = "403"
    WRONG_NUMBER = "404"
    BLOCKED = "423"
    UNAVAILABLE = "480"            # temporarily unavailable
    DIRECTION_UNAVAILABLE = "484"
    BUSY = "486"
    SERVICE_UNAVAILABLE = "503"
    DECLINED = "603"
    CANCELLED = "603-S"
    OTHER = "OTHER"
    ALL = ("200", "304", "402", "403", "404", "423", "480", "484", "486", "503", "603",
           "603-S", "OTHER")


class Registered:
    """What ``register`` answered: ``call_id``, and the CRM side (``crm_entity_type``,
    ``crm_entity_id``, ``crm_created_lead``, ``crm_created_entities``,
    ``lead_creation_error``); ``raw`` is the whole ``result``."""

    def __init__(self, raw):
        self.raw = raw if isinstance(raw, dict) else {}
        self.call_id = self.raw.get("CALL_ID")
        self.crm_entity_type = self.raw.get("CRM_ENTITY_TYPE") or None
        self.crm_entity_id = _int(self.raw.get("CRM_ENTITY_ID"))
        self.crm_created_lead = _int(self.raw.get("CRM_CREATED_LEAD"))
        self.crm_created_entities = list(self.raw.get("CRM_CREATED_ENTITIES") or [])
        self.lead_creation_error = self.raw.get("LEAD_CREATION_ERROR") or None

    def __repr__(self):
        return "Registered(call_id={!r})".format(self.call_id)


def _int(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _flag(value):
    return None if value is None else (1 if value else 0)


def _put(params, **named):
    for key, value in named.items():
        if value is not None:
            params[key] = value
    return params


def _fields(params, fields, method):
    """``fields`` (Bitrix24's names: ``{"CRM_CREATE": True, "CRM_SOURCE": "CALL"}``) over
    ``params``: a bool goes as Bitrix24 reads one (1/0), None leaves a field out; ``VOTE`` is
    checked (1 to 5). Names Bitrix24 added later pass through as given."""
    for key, value in (fields or {}).items():
        if not isinstance(key, str) or not key or key != key.upper():
            raise ValueError("{} fields are Bitrix24's names in capitals (CRM_CREATE), not "
                             "{!r}".format(method, key))
        if value is None:
            params.pop(key, None)
            continue
        if isinstance(value, bool):
            value = 1 if value else 0
        if key == "VOTE" and (type(value) is not int or not 1 <= value <= 5):
            raise ValueError("VOTE is the call's rating, 1 to 5, not {!r}".format(value))
        params[key] = value
    return params


_counter = [0]


def default_external_id():
    """A call id that is new on every call and every page (Bitrix24's 30-minute dedup must
    never merge two calls): random bits, and a counter for this page."""
    import random

    _counter[0] += 1
    return "bx24-{:08x}{:08x}-{}".format(random.getrandbits(32), random.getrandbits(32),
                                         _counter[0])


class Telephony:
    """The telephony methods over a :class:`~bx24.rest.Rest` client. ``new_external_id`` makes
    an ``EXTERNAL_CALL_ID`` (the page passes the browser's ``crypto.randomUUID``)."""

    def __init__(self, rest, new_external_id=None):
        self.rest = rest
        self._new_external_id = new_external_id or default_external_id
        self._user_id = None
        self._current_user = None

    async def current_user(self):
        """The operator (``user.current``'s answer: ``ID``, ``NAME``, ``UF_PHONE_INNER``...),
        asked once per page."""
        if self._current_user is None:
            answer = await self.rest.call("user.current")
            self._current_user = answer.data if isinstance(answer.data, dict) else {}
        return self._current_user

    async def user_id(self):
        """The operator's own user id (from :meth:`current_user`)."""
        if self._user_id is None:
            self._user_id = _int((await self.current_user()).get("ID"))
        return self._user_id

    async def _user(self, user_id, user_phone_inner=None):
        if user_id is None and user_phone_inner is None:
            user_id = await self.user_id()
        return user_id

    async def register(self, phone_number, type=INCOMING, user_id=None, line_number=None,
                       external_call_id=None, show=True, crm_create=None, crm_source=None,
                       crm_entity_type=None, crm_entity_id=None, add_to_chat=None,
                       call_list_id=None, call_start_date=None, user_phone_inner=None,
                       fields=None):
        """Register a call (its card opens for ``user_id``, the operator by default, when
        ``show``); returns :class:`Registered`. ``type`` is one of :data:`TYPES`. ``fields``:
        more of register's parameters by Bitrix24's names, over the others
        (``{"CRM_CREATE": True, "CRM_SOURCE": "WEB"}``)."""
        if not isinstance(phone_number, str) or not phone_number:
            raise ValueError("phone_number is the other side's number, a non-empty str")
        if type not in TYPES:
            raise ValueError("unknown call type {!r}: use OUTGOING, INCOMING, "
                             "INCOMING_REDIRECTED, CALLBACK or INFORMATIONAL".format(type))
        params = _put(
            {"PHONE_NUMBER": phone_number, "TYPE": type},
            USER_ID=await self._user(user_id, user_phone_inner),
            USER_PHONE_INNER=user_phone_inner, LINE_NUMBER=line_number,
            EXTERNAL_CALL_ID=external_call_id or self._new_external_id(),
            SHOW=_flag(show), CRM_CREATE=_flag(crm_create), CRM_SOURCE=crm_source,
            CRM_ENTITY_TYPE=crm_entity_type, CRM_ENTITY_ID=crm_entity_id,
            ADD_TO_CHAT=_flag(add_to_chat), CALL_LIST_ID=call_list_id,
            CALL_START_DATE=call_start_date)
        _fields(params, fields, "register")
        answer = await self.rest.call("telephony.externalcall.register", params)
        return Registered(answer.data)

    def _finish_params(self, call_id, duration, status_code, user_id, **more):
        if not call_id:
            raise ValueError("finish needs the CALL_ID register gave")
        if status_code is not None and status_code not in Status.ALL:
            raise ValueError("unknown STATUS_CODE {!r}: use one of bx24.telephony.Status".format(
                status_code))
        if type(duration) is not int or duration < 0:
            raise ValueError("duration is a whole number of seconds >= 0, not {!r}".format(
                duration))
        return _put({"CALL_ID": call_id, "DURATION": duration}, USER_ID=user_id,
                    STATUS_CODE=status_code, **more)

    async def finish(self, call_id, duration, status_code=None, user_id=None, cost=None,
                     cost_currency=None, failed_reason=None, vote=None, add_to_chat=None,
                     record_url=None, fields=None):
        """End a registered call: its ``duration`` in seconds and how it ended (a
        :class:`Status` code). Returns the call record Bitrix24 wrote (a dict). ``fields``:
        more of finish's parameters by Bitrix24's names (``{"VOTE": 5, "COST": 0.12}``)."""
        params = self._finish_params(  # checked before anything is sent
            call_id, duration, status_code, None, COST=cost, COST_CURRENCY=cost_currency,
            FAILED_REASON=failed_reason, ADD_TO_CHAT=_flag(add_to_chat),
            RECORD_URL=record_url)
        _fields(params, {"VOTE": vote} if vote is not None else None, "finish")
        _fields(params, fields, "finish")
        _put(params, USER_ID=await self._user(user_id))
        return (await self.rest.call("telephony.externalcall.finish", params)).data

    def finish_now(self, call_id, duration, status_code=None, user_id=None, failed_reason=None,
                   fields=None):
        """``finish`` sent at once and not waited for: for a page that is closing."""
        params = self._finish_params(call_id, duration, status_code,
                                     user_id if user_id is not None else self._user_id,
                                     FAILED_REASON=failed_reason)
        _fields(params, fields, "finish")
        self.rest.beacon("telephony.externalcall.finish", params)

    async def show(self, call_id, user_id=None):
        """Open the call's card for ``user_id`` (an id or a list of ids; the operator)."""
        params = {"CALL_ID": call_id, "USER_ID": await self._user(user_id)}
        return (await self.rest.call("telephony.externalcall.show", params)).data

    async def hide(self, call_id, user_id=None):
        """Close the call's card for ``user_id`` (an id or a list of ids; the operator)."""
        params = {"CALL_ID": call_id, "USER_ID": await self._user(user_id)}
        return (await self.rest.call("telephony.externalcall.hide", params)).data

    async def attach_record(self, call_id, filename, record_url=None, file_content=None):
        """Attach a recording: by ``record_url``, or ``file_content`` (base64 text)."""
        params = _put({"CALL_ID": call_id, "FILENAME": filename}, RECORD_URL=record_url,
                      FILE_CONTENT=file_content)
        return (await self.rest.call("telephony.externalCall.attachRecord", params)).data
