"""The operator's own softphone settings, kept in Bitrix24: their SIP user is their inner phone
number (``UF_PHONE_INNER`` in their profile), their SIP password the application's user option
:data:`SIP_PASSWORD_OPTION` (``user.option.set``: each user of the application has their own,
which only they and the application read). The application's main page writes it
(:mod:`bx24.mainpage`); the worker reads it when its phone starts (:func:`sip_account`).

The password is never logged, shown back or sent anywhere but to the portal and to the SIP
phone.
"""

SIP_PASSWORD_OPTION = "sip_password"


async def sip_account(source):
    """The operator's SIP account for :func:`bx24.sip_softphone`'s ``account``: ``user`` (their
    inner number), ``password`` (None when they saved none), ``display_name``. ``source``: the
    page's :class:`~bx24.telephony.Telephony` (its ``user.current``, asked once per page, is
    reused) or a :class:`~bx24.rest.Rest`."""
    if hasattr(source, "current_user"):
        me, rest = await source.current_user(), source.rest
    else:
        me, rest = (await source.call("user.current")).data or {}, source
    password = (await rest.call("user.option.get", {"option": SIP_PASSWORD_OPTION})).data
    return {"user": me.get("UF_PHONE_INNER") or None, "password": password or None,
            "display_name": " ".join(filter(None, (me.get("NAME"), me.get("LAST_NAME"))))}


async def has_sip_password(rest):
    """Whether the operator saved a SIP password (its value stays here)."""
    return bool((await rest.call("user.option.get", {"option": SIP_PASSWORD_OPTION})).data)


async def save_sip_password(rest, password):
    """Keep ``password`` as the operator's SIP password (an empty one is refused: it would
    leave their phone unable to register without saying why)."""
    if not isinstance(password, str) or not password.strip():
        raise ValueError("an empty SIP password is not saved")
    await rest.call("user.option.set", {"options": {SIP_PASSWORD_OPTION: password}})
