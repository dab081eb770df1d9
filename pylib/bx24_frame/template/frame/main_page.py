"""The application's main page, beyond what bx24 shows there (the worker's binding for
administrators, each operator's SIP password and microphone check): the operator checks that
their phone registers with the password they saved."""

import bx24
import bx24.mainpage
import settings


async def main_page(page):
    async def account():
        return await bx24.sip_account(page.rest)

    section = page.view.section("My phone")
    bx24.mainpage.phone_check(section, lambda: bx24.page.sip_softphone(
        settings.SIP_SERVER, account=account, domain=settings.SIP_DOMAIN))
