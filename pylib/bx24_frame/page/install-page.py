"""The install page's Python (served as ``install``): bx24.install, with the project's own step
(``frame/install.py``: ``async def install(page)``) when it has one."""

import bx24
import bx24.install

page = bx24.page.app()
step = None
if "install" in (page.settings.get("hooks") or ()):
    import install

    step = install.install
page.start(bx24.install.run(page, step), "the install page")
