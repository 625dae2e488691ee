"""TLS: the certificate chain and host name, its expiry, the protocol versions, the plain-HTTP redirect."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import warnings

from helixflow.stacks.validate.context import Context
from helixflow.stacks.validate.model import CheckFailed, Outcome, failed, passed, skipped
from helixflow.stacks.validate.registry import check


def _https(ctx: Context) -> bool:
    return ctx.deployment.endpoint.startswith("https://")


def handshake(host: str, port: int, context: ssl.SSLContext, timeout: float) -> tuple[str, bytes]:
    """Connect and complete a TLS handshake; returns (protocol version, the server's certificate DER).
    Raises ssl.SSLError / OSError when the handshake fails."""
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        return str(tls.version()), tls.getpeercert(binary_form=True) or b""


def _unverified() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@check(
    "tls-chain",
    "security",
    critical=True,
    description="The TLS certificate chains to the CA (the stack's, or the system's) and names the host",
)
def tls_chain(ctx: Context) -> Outcome:
    if not _https(ctx):
        return failed("the endpoint is not https")
    try:
        version, _ = handshake(ctx.deployment.host, ctx.deployment.port, ctx.ssl_context(), ctx.request_timeout())
    except ssl.SSLCertVerificationError as err:
        return failed(f"certificate not valid for {ctx.deployment.host}: {err.verify_message}")
    except (ssl.SSLError, OSError) as err:
        return failed(f"TLS handshake failed: {err}")
    return passed(f"valid for {ctx.deployment.host} ({version})")


@check(
    "tls-expiry",
    "security",
    critical=True,
    description="The certificate expires more than --min-cert-days days from now",
)
def tls_expiry(ctx: Context) -> Outcome:
    if not _https(ctx):
        return failed("the endpoint is not https")
    try:
        _, der = handshake(ctx.deployment.host, ctx.deployment.port, _unverified(), ctx.request_timeout())
    except (ssl.SSLError, OSError) as err:
        return failed(f"TLS handshake failed: {err}")
    from cryptography import x509

    not_after = x509.load_der_x509_certificate(der).not_valid_after_utc
    days = (not_after - dt.datetime.now(dt.UTC)).total_seconds() / 86400
    value = f"{days:.0f} days left"
    if days <= ctx.options.min_cert_days:
        state = "expired" if days < 0 else "expires"
        return failed(
            f"certificate {state} {not_after:%Y-%m-%d} (need > {ctx.options.min_cert_days} days)",
            value=value,
            days=round(days, 1),
        )
    return passed(value, days=round(days, 1), not_after=not_after.isoformat())


def _version_refused(ctx: Context, version: ssl.TLSVersion) -> bool:
    """Whether a handshake at only ``version`` is refused. A TLS alert, or a reset in the handshake, is a refusal;
    any other error (nothing listens, a timeout) says nothing about the version: CheckFailed."""
    context = _unverified()
    with warnings.catch_warnings():  # asking for an old version is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = version
        context.maximum_version = version
    context.set_ciphers("ALL:@SECLEVEL=0")  # so that our side can offer it at all
    try:
        handshake(ctx.deployment.host, ctx.deployment.port, context, ctx.request_timeout())
    except (ssl.SSLError, ConnectionResetError):
        return True
    except OSError as err:
        raise CheckFailed(f"could not try a {version.name} handshake: {type(err).__name__}: {err}") from err
    return False


@check(
    "tls-versions",
    "security",
    critical=True,
    description="TLS 1.2 (or newer) is accepted; TLS 1.0 and 1.1 handshakes are refused",
)
def tls_versions(ctx: Context) -> Outcome:
    if not _https(ctx):
        return failed("the endpoint is not https")
    try:
        negotiated, _ = handshake(ctx.deployment.host, ctx.deployment.port, _unverified(), ctx.request_timeout())
    except (ssl.SSLError, OSError) as err:
        return failed(f"a modern TLS handshake failed: {err}")
    accepted_old = [v.name for v in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1) if not _version_refused(ctx, v)]
    if accepted_old:
        return failed(f"the server accepts {', '.join(accepted_old)}", value=negotiated)
    return passed(f"{negotiated}; 1.0/1.1 refused")


@check(
    "http-redirect",
    "security",
    critical=False,
    description="Plain HTTP answers a permanent redirect to the https endpoint",
)
def http_redirect(ctx: Context) -> Outcome:
    if not ctx.deployment.http_url:
        return skipped("no plain-HTTP address known for this endpoint (a non-standard https port)")
    response = ctx.call("GET", "/v1/models", base=ctx.deployment.http_url, key=None)
    location = response.headers.get("location", "")
    if response.status_code not in (301, 308) or not location.startswith("https://"):
        return failed(f"plain HTTP answered {response.status_code} (Location: {location or '-'})")
    return passed(f"{response.status_code} to https")
