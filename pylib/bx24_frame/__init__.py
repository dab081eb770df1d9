"""bx24_frame: the frame around a bx24 app, and the ``bx24`` command that makes and serves it.

A project holds only its Python (``frame/main.py`` and its modules) and, if it wants, a
``bx24.toml``. This package owns the rest: the page and its boot loader (``page/``), the pinned
runtime (``pins/``, installed by ``bx24 setup``), the Pyodide snapshot, the URL layout
(:mod:`.layout`), the exporter and its nginx config, and ``bx24 new``'s project template.
"""
