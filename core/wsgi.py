"""The WSGI entry: ``gunicorn core.wsgi:application``.

It holds the current app and rebuilds it when the ``addons`` counter in the database moves
(checked at most once per ADDONS_CHECK_INTERVAL seconds, one indexed read), so enabling or
disabling an addon in one worker takes effect in every worker without a restart.
"""
from __future__ import annotations

import threading
import time

from core.db import db


class AppHolder:
    def __init__(self, factory=None, **factory_kwargs):
        if factory is None:
            from core.app import create_app as factory
        self.factory, self.factory_kwargs = factory, factory_kwargs
        self.app = None
        self.generation = None
        self.checked_at = 0.0
        self.lock = threading.Lock()

    def _read_generation(self, app) -> int:
        from core.addons import read_counter
        with app.app_context():
            with db.engine.connect() as conn:
                return read_counter(conn)

    def current(self):
        now = time.monotonic()
        app = self.app
        interval = float(app.config.get("ADDONS_CHECK_INTERVAL", 1.0)) if app is not None else 0  # float ok: seconds
        if app is not None and now - self.checked_at < interval:
            return app
        with self.lock:
            if self.app is None:
                self.app = self.factory(**self.factory_kwargs)
                self.generation = self._read_generation(self.app)
                self.checked_at = time.monotonic()
                return self.app
            if time.monotonic() - self.checked_at >= interval:
                self.checked_at = time.monotonic()
                generation = self._read_generation(self.app)
                if generation != self.generation:
                    old = self.app
                    self.app = self.factory(**self.factory_kwargs)
                    self.generation = generation
                    with old.app_context():
                        db.engine.dispose()
            return self.app

    def __call__(self, environ, start_response):
        return self.current()(environ, start_response)


application = AppHolder()
