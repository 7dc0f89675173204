"""Security headers on every response, static files and errors included."""

from __future__ import annotations

from aiohttp import web

# No inline script or style anywhere: everything comes from /static. connect-src 'self' covers
# the console's same-origin websocket.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), geolocation=(), payment=(), usb=()",
}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Set the security headers on a response about to be sent."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    # Only when this process terminates TLS itself; a TLS-terminating proxy sets its own.
    if request.secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    # Pages and API answers carry user data: no cache keeps them. Static files may be cached.
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
