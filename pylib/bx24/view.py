"""What the application's own pages show (:mod:`bx24.apppage`): sections of lines, buttons and
a password field, in the page's ``<main id="bx24-app">``. The DOM through ``pyscript``, on
Pyodide and MicroPython alike; the page's logic never touches it (tests give it a recording
view with the same methods).

A line has a ``kind`` (``info``, ``ok``, ``warning``, ``error``): its CSS class and its
``data-kind``. A button runs its coroutine function on click, disabled until it ends. The
password field hands the typed value to ``on_save(value)`` and empties itself: the value is
never written back into the page.
"""

from pyscript import document
from pyscript.ffi import create_proxy

from .tasks import spawn

KINDS = ("info", "ok", "warning", "error")
_proxies = []  # event handlers JavaScript keeps calling


def _element(tag, text=None, cls=None):
    element = document.createElement(tag)
    if text is not None:
        element.textContent = text
    if cls:
        element.className = cls
    return element


def _listen(element, event, handler):
    proxy = create_proxy(handler)
    _proxies.append(proxy)
    element.addEventListener(event, proxy)


class Line:
    def __init__(self, element):
        self.element = element

    def set(self, text, kind="info"):
        if kind not in KINDS:
            kind = "info"
        self.element.textContent = text
        self.element.className = "bx24-line bx24-" + kind
        self.element.setAttribute("data-kind", kind)


class Section:
    def __init__(self, element, log):
        self.element = element
        self.log = log

    def line(self, text, kind="info"):
        line = Line(_element("p"))
        line.set(text, kind)
        self.element.appendChild(line.element)
        return line

    def button(self, label, on_click):
        button = _element("button", label, "bx24-button")
        button.setAttribute("type", "button")

        async def run():
            try:
                await on_click()
            finally:
                button.disabled = False

        def clicked(event):
            if button.disabled:
                return
            button.disabled = True
            spawn(run(), self.log, label)
        _listen(button, "click", clicked)
        self.element.appendChild(button)
        return button

    def password(self, label, on_save):
        form = _element("form", None, "bx24-form")
        caption = _element("label", label)
        field = _element("input")
        field.setAttribute("type", "password")
        field.setAttribute("autocomplete", "new-password")
        field.setAttribute("name", "password")
        caption.appendChild(field)
        form.appendChild(caption)
        save = _element("button", "Save", "bx24-button")
        save.setAttribute("type", "submit")
        form.appendChild(save)

        def submitted(event):
            event.preventDefault()
            value = str(field.value)
            field.value = ""
            spawn(on_save(value), self.log, "saving " + label)
        _listen(form, "submit", submitted)
        self.element.appendChild(form)
        return form


class View:
    """The page's sections, in ``<main id="bx24-app">`` (made if the page has none)."""

    def __init__(self, log=None, root_id="bx24-app"):
        self.log = log
        root = document.getElementById(root_id)
        if root is None:
            root = _element("main")
            root.setAttribute("id", root_id)
            document.body.appendChild(root)
        self.root = root

    def section(self, title):
        element = _element("section", None, "bx24-section")
        element.appendChild(_element("h2", title))
        self.root.appendChild(element)
        return Section(element, self.log)

    def clear(self):
        self.root.textContent = ""
