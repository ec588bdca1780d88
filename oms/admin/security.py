"""Session cookie flags, security headers and the secret-key check.

The Content-Security-Policy allows scripts and styles from this site only: no inline script, no
inline style, no ``eval``; pages cannot be framed. ``SESSION_COOKIE_SECURE`` is off by default so
that the pages work over plain http on 127.0.0.1 for development; set
``OMS_ADMIN_SECURE_COOKIES=1`` wherever the pages are served over https.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask, Response, request

MIN_SECRET_KEY_LENGTH = 32
SESSION_LIFETIME = timedelta(hours=12)
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def secret_key_problem(key: str | None) -> str | None:
    """Why ``key`` cannot sign the admin sessions, or ``None``."""
    hint = 'generate one with: python -c "import secrets; print(secrets.token_hex(32))"'
    if not key:
        return f"OMS_SECRET_KEY is not set: the admin pages need it to sign sessions; {hint}"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return (f"OMS_SECRET_KEY is too short ({len(key)} characters, at least "
                f"{MIN_SECRET_KEY_LENGTH}); {hint}")
    return None


def secure_cookies_from(env: Mapping[str, str]) -> bool:
    return env.get("OMS_ADMIN_SECURE_COOKIES", "").strip().lower() in {"1", "true", "yes", "on"}


def session_config(secret_key: str) -> dict[str, Any]:
    secure = secure_cookies_from(os.environ)
    return {
        "SECRET_KEY": secret_key,
        "SESSION_COOKIE_NAME": "oms_admin",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "PERMANENT_SESSION_LIFETIME": SESSION_LIFETIME,
        # A token per session, valid as long as the session: pages stay open all day.
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 64 * 1024,
    }


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


def install(app: Flask) -> None:
    app.after_request(add_security_headers)
