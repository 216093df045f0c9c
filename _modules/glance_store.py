"""
Live checks of the image stores the pillar points at (read-only requests).

Kolla's S3 precheck can never fail; this one asks the S3 server, with Salt's own
SigV4 client (``salt.utils.s3``), whether the keys are accepted.
"""

import urllib.parse

import salt.utils.s3
from salt.exceptions import CommandExecutionError

__virtualname__ = "glance_store"

# S3 error codes that mean the credentials themselves are wrong
BAD_CREDENTIALS = ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied",
                   "InvalidClientTokenId", "http-403")


def __virtual__():
    return __virtualname__


def s3_endpoint(url, url_format="auto"):
    """s3_url -> (service_url host[:port], https, path_style) for salt.utils.s3."""
    parsed = urllib.parse.urlparse(url)
    return parsed.netloc, parsed.scheme == "https", url_format != "virtual"


def classify_s3_error(message):
    """'ok' (bucket missing is fine: glance creates it), 'credentials' or 'unreachable'."""
    if "NoSuchBucket" in message:
        return "ok"
    if any(code in message for code in BAD_CREDENTIALS):
        return "credentials"
    return "unreachable"


def s3_check(url, access_key, secret_key, bucket, url_format="auto", location="us-east-1"):
    """
    List at most one key of ``bucket``; returns ``{"status", "detail"}`` where
    status is ok, credentials or unreachable.

    CLI Example::

        salt node1 glance_store.s3_check http://127.0.0.1:9000 KEY SECRET glance
    """
    service_url, https, path_style = s3_endpoint(url, url_format)
    try:
        salt.utils.s3.query(
            key=secret_key, keyid=access_key, method="GET", bucket=bucket,
            service_url=service_url, https_enable=https, path_style=path_style,
            params={"max-keys": "1"}, location=location, verify_ssl=True,
        )
    except (CommandExecutionError, OSError, ValueError) as exc:
        detail = str(exc).replace(secret_key, "********") if secret_key else str(exc)
        return {"status": classify_s3_error(detail), "detail": detail[:300]}
    except Exception as exc:  # pylint: disable=broad-except  (requests' errors)
        return {"status": "unreachable", "detail": type(exc).__name__ + ": " + str(exc)[:300]}
    return {"status": "ok", "detail": ""}
