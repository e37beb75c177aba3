"""Keeping credentials out of reprs, logs and error messages.

A secret can reach text in more shapes than as written: URL-encoded in a query string,
base64-encoded (an ``Authorization: Basic`` header, a server echoing it back), hex. Every
shape is masked here, and the test kit's scrubber and scanner use the same
:func:`secret_forms`, so what the gate looks for is what the recorder removes.
"""

from __future__ import annotations

import base64
import functools
import logging
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
#: Shorter values are not masked: they would mask common words (and cannot be real keys).
MIN_SECRET = 4
#: Base64 fragments shorter than this are not looked for (too likely to occur by chance).
_MIN_B64 = 8

# Field names whose values are credentials wherever they appear (config extras, kwargs).
_SECRET_NAME = re.compile(r"(api[_-]?key|token|secret|password|passwd|authorization|cookie)", re.I)
#: A query parameter whose name says it holds a credential; its value is masked.
_SECRET_PARAM = re.compile(
    r"([?&;][^=&#\s'\"]*?(?:key|token|secret|passw(?:or)?d|auth|signature|credential)"
    r"[^=&#\s'\"]*=)[^&#\s'\"]*", re.I)
#: The password of URL userinfo (``scheme://user:password@host``).
_USERINFO = re.compile(r"(://[^/?#@\s:'\"]*:)[^/?#@\s'\"]*(@)")
#: Headers whose values are credentials, as httpcore's debug log prints them (bytes reprs).
AUTH_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "cookie", "set-cookie",
                          "proxy-authorization", "x-auth-token"})
_HEADER_NAMES = "|".join(sorted(AUTH_HEADERS))
_HEADER_REPR = re.compile(r"""(\(b?['"](?:""" + _HEADER_NAMES + r""")['"],\s*b?['"])([^'"]*)""", re.I)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def secret_forms(secrets: Iterable[str | None]) -> list[str]:
    """Each secret as written, URL-encoded, base64 (standard and URL-safe, at any alignment
    inside a longer base64 text) and hex; longest first, so a longer form is masked whole."""
    return list(_forms_of(tuple(secret for secret in secrets if secret)))


@functools.lru_cache(maxsize=64)
def _forms_of(secrets: tuple[str, ...]) -> tuple[str, ...]:
    # Cached: every masked message and URL asks for the same few secrets' forms (12 encodings
    # each), and computing them cost more than the masking itself.
    forms: set[str] = set()
    for secret in secrets:
        if not secret or len(secret) < MIN_SECRET:
            continue
        raw = secret.encode("utf-8")
        forms.update({secret, quote(secret, safe=""), quote_plus(secret), raw.hex(),
                      raw.hex().upper()})
        forms.update(form for form in _base64_cores(raw) if len(form) >= _MIN_B64)
    return tuple(sorted(forms, key=len, reverse=True))


def _base64_cores(raw: bytes) -> set[str]:
    """The base64 characters fully determined by ``raw`` wherever it starts in the encoded data.

    base64 encodes 3 bytes as 4 characters, so a secret inside a longer value is encoded one
    of three ways depending on its offset; the characters that mix in a neighbour's bits are
    left out of each.
    """
    cores = set()
    for offset in range(3):
        data = b"\0" * offset + raw
        start = (0, 2, 3)[offset]  # first character with no bits of the padding bytes
        end = 4 * (len(data) // 3) + (len(data) % 3) * 8 // 6
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            cores.add(encode(data).decode("ascii")[start:end])
    return cores


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every form (see :func:`secret_forms`) of each secret in ``text`` with ``***``."""
    for form in _forms_of(tuple(secret for secret in secrets if secret)):
        if form in text:
            text = text.replace(form, MASK)
    return text


def mask_url(url: str, secrets: Iterable[str | None] = ()) -> str:
    """``url`` for a message or a log: userinfo password, credential-named query values and
    every configured secret (in any query parameter or path segment, in any form) masked."""
    url = _USERINFO.sub(lambda m: m.group(1) + MASK + m.group(2), url)
    url = _SECRET_PARAM.sub(lambda m: m.group(1) + MASK, url)
    return redact(url, secrets)


def mask_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Free text that may hold URLs and header dumps (log lines, exception messages)."""
    text = _HEADER_REPR.sub(lambda m: m.group(1) + MASK, text)
    return mask_url(text, secrets)


class RedactingFilter(logging.Filter):
    """Masks credentials in every record of the logger it is attached to.

    ``secrets`` returns the values known at the time of the record (clients come and go).
    """

    def __init__(self, secrets: Callable[[], Iterable[str]]) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it to logging's own report
            return True
        masked = mask_text(message, list(self._secrets()))
        if masked != message:
            record.msg, record.args = masked, None
        return True


#: Every logger that can print a URL or headers: httpx (request lines), httpcore (at DEBUG,
#: raw request and response headers), and the kit's own. A logger's filters do not apply to
#: its children, so each is named. ``tests/test_secret_gate.py`` checks that the kit's
#: ``getLogger`` names are all here.
REDACTED_LOGGERS = ("httpx", "httpcore", "httpcore.connection", "httpcore.http11",
                    "httpcore.http2", "httpcore.proxy", "httpcore.socks", "connector_kit",
                    "connector_kit.http", "connector_kit.langgraph", "connector_kit.flow",
                    "connector_kit.blocks")


def install_log_redaction(secrets: Callable[[], Iterable[str]]) -> RedactingFilter:
    """Attach one :class:`RedactingFilter` to each of :data:`REDACTED_LOGGERS`."""
    redactor = RedactingFilter(secrets)
    for name in REDACTED_LOGGERS:
        logging.getLogger(name).addFilter(redactor)
    return redactor
