"""bx24.telephony over the fake portal: the parameters Bitrix24 takes, checked before sending."""

import pytest

from bx24 import RestError, Status
from bx24.telephony import INCOMING, OUTGOING, default_external_id
from bx24_testing.fake import FakePortal
from fake_bridge import run


@pytest.fixture
def portal():
    return FakePortal(user_id=3)


def test_register_sends_what_bitrix24_takes_and_reads_its_answer(portal):
    telephony = portal.telephony()
    registered = run(
        telephony.register("+15550001122", OUTGOING, line_number="l1", crm_create=True, show=False)
    )
    assert registered.call_id.startswith("externalCall.")
    assert portal.rest_calls("telephony.externalcall.register")[0]["params"] == {
        "PHONE_NUMBER": "+15550001122",
        "TYPE": "1",
        "USER_ID": "3",
        "LINE_NUMBER": "l1",
        "EXTERNAL_CALL_ID": "fake-1",
        "SHOW": "0",
        "CRM_CREATE": "1",
    }
    assert not portal.card_open  # SHOW=0


def test_the_operator_is_asked_once(portal):
    telephony = portal.telephony()
    run(telephony.register("+1555", INCOMING))
    run(telephony.register("+1556", INCOMING))
    assert len(portal.rest_calls("user.current")) == 1


def test_finish_show_hide(portal):
    telephony = portal.telephony()

    async def go():
        registered = await telephony.register("+1555", INCOMING)
        await telephony.show(registered.call_id, [4, 5])
        await telephony.hide(registered.call_id)
        return registered, await telephony.finish(registered.call_id, 12, Status.ANSWERED)

    registered, record = run(go())
    assert record["CALL_DURATION"] == 12
    assert portal.rest_calls("telephony.externalcall.show")[0]["params"]["USER_ID"] == {
        "0": "4",
        "1": "5",
    }
    assert not portal.card_open


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda t: t.register(""), ValueError),
        (lambda t: t.register("+1", type=9), ValueError),
        (lambda t: t.finish("c", -1), ValueError),
        (lambda t: t.finish("c", 1.5), ValueError),
        (lambda t: t.finish("c", 1, status_code="999"), ValueError),
        (lambda t: t.finish("", 1), ValueError),
    ],
)
def test_bad_arguments_fail_before_anything_is_sent(portal, call, error):
    with pytest.raises(error):
        run(call(portal.telephony()))
    assert portal.rest_calls() == []


def test_finishing_an_unknown_call_is_bitrix24s_error(portal):
    with pytest.raises(RestError, match="Call is not found"):
        run(portal.telephony().finish("externalCall.nope", 1, Status.ANSWERED))


def test_external_ids_differ():
    assert len({default_external_id() for _ in range(100)}) == 100
