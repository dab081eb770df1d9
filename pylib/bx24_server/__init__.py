"""The HTTP server of the Bitrix24 worker frame: a small ASGI app (:mod:`.app`) run by uvicorn.

For other code: :class:`~bx24_server.config.Config`, :func:`~bx24_server.app.create_app`,
:class:`~bx24_server.background.ServerThread` and :class:`~bx24_server.background.ServerProcess`.
"""
