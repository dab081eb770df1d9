"""The application's main page's Python (served as ``main``): bx24.mainpage, extended by the
project's ``frame/main_page.py`` (``async def main_page(page)``) when it has one."""

import bx24
import bx24.mainpage

page = bx24.page.app()
extend = None
if "main_page" in (page.settings.get("hooks") or ()):
    import main_page

    extend = main_page.main_page
page.start(bx24.mainpage.run(page, extend), "the main page")
