"""A blank frame page with the BX24 stub served at Bitrix24's URL, as the production frame gets it.

One page serves a whole test module (``card_page``): each test starts from ``BX24Stub.reset()``
in browser mode, with every ``BackgroundCallCard::*`` event bound once by the harness.
"""

import pytest

from stub_frame import open_frame


@pytest.fixture(scope="module")
def stub_context(browser):
    """One browser context per module: a new page in it is cheaper than a new context."""
    context = browser.new_context()
    yield context
    context.close()


@pytest.fixture(scope="module")
def shared_page(stub_context):
    page = open_frame(stub_context.new_page())
    page.evaluate("T.bindAll()")
    yield page
    page.close()


@pytest.fixture
def card_page(shared_page):
    """The module's page, reset: no card, empty logs, browser mode."""
    shared_page.portal.reset()
    shared_page.evaluate(
        "BX24Stub.reset(); T.clear(); BX24Stub.configure({mode: 'browser', auth: {}})"
    )
    return shared_page


@pytest.fixture
def new_page(stub_context):
    """A blank page of its own, closed after the test."""
    page = stub_context.new_page()
    yield page
    page.close()


@pytest.fixture
def fresh_page(new_page):
    """A page of its own with the test frame loaded and initialized, nothing bound yet."""
    return open_frame(new_page)
