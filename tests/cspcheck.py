"""Content-Security-Policy violations seen by a real browser (Playwright), popups included.

``watch = CspWatch(context)`` before opening pages; ``watch.violations`` lists every
violation Chromium reported (console) or the page saw (``securitypolicyviolation``
events, forwarded to the console by an init script, which no CSP applies to)."""
from __future__ import annotations

INIT = """
document.addEventListener('securitypolicyviolation', (e) => console.error(
  'CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') +
  ' in ' + (e.sourceFile || document.location.href) + ':' + e.lineNumber + ' ' + (e.sample || '')));
"""


class CspWatch:
    def __init__(self, context):
        self.violations: list[str] = []
        context.add_init_script(INIT)
        context.on("page", self.watch)

    def watch(self, page) -> None:
        def seen(message):
            text = message.text
            if "Content Security Policy" in text or "CSP violation" in text:
                self.violations.append(f"{page.url}: {text}")
        page.on("console", seen)
