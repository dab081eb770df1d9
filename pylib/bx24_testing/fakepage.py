"""``bx24.page``'s functions over a fake portal's pieces: what :meth:`FakePortal.load_app`
binds while the app's ``main.py`` runs, in CPython (``bx24_testing.fake``) and under the
frame's MicroPython (``bx24_testing.micropython``: this module runs there too, so it keeps to
what both interpreters run)."""


def page_functions(bx24, page, bridge, clock, sleep, new_phone, new_external_id):
    """``card``, ``rest``, ``telephony``, ``calls``, ``sip_softphone`` as the page has them
    (one card and one Calls per page, kept in ``page``), over ``bridge`` (the bridge protocol),
    ``clock`` (the portal's time), ``sleep`` (REST's retries: the clock moves instead),
    ``new_phone`` (the SIP phone's maker) and ``new_external_id``."""

    def card(**options):
        if "card" not in page:
            page["card"] = bx24.CallCard(bridge, **options)
        return page["card"]

    def rest(**options):
        options.setdefault("sleep", sleep)
        return bx24.Rest(bridge, **options)

    def telephony(**options):
        return bx24.Telephony(rest(**options), new_external_id=new_external_id)

    def calls(softphone, **options):
        if "calls" not in page:
            page["calls"] = bx24.Calls(
                card(log=options.get("log")), telephony(), softphone, clock=clock, **options
            )
        return page["calls"]

    def sip_softphone(server, uri=None, **options):
        return bx24.SipSoftphone(server, uri, new_phone=new_phone, **options)

    return {
        "card": card,
        "rest": rest,
        "telephony": telephony,
        "calls": calls,
        "sip_softphone": sip_softphone,
    }
