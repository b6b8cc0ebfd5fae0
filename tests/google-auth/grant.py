"""What google-auth signs and sends for a service account, at a fixed time.

Reads one JSON object on standard input:
    {"key_file": PATH, "scopes": [SCOPE, ...], "subject": EMAIL or null, "now": UNIX_SECONDS}
and prints one JSON object:
    {"google_auth": VERSION,
     "assertion": what Credentials._make_authorization_grant_assertion() returns,
     "request": {"method", "url", "content_type", "body"}: the one request refresh() makes}

The credentials come from google-auth's own loader (from_service_account_info over the
parsed key file); time from google.auth._helpers.utcnow, patched to `now`; the token
endpoint is a stand-in transport that records the request and answers with a token, so
nothing leaves the machine. Run by the project's tests with target/google-auth-venv's Python
(installed by `cargo xtask setup` from requirements.txt beside this file).
"""

import datetime
import json
import sys
from unittest import mock

import google.auth
from google.auth import _helpers
from google.oauth2 import service_account


class _Response:
    status = 200
    headers = {"content-type": "application/json"}
    data = json.dumps({"access_token": "stand-in", "expires_in": 3600}).encode()


def main():
    job = json.load(sys.stdin)
    with open(job["key_file"], encoding="utf-8") as f:
        info = json.load(f)
    # google-auth's clock: naive UTC datetimes.
    now = datetime.datetime.fromtimestamp(job["now"], datetime.timezone.utc).replace(
        tzinfo=None
    )
    requests = []

    def transport(url, method="GET", body=None, headers=None, **_):
        headers = headers or {}
        requests.append(
            {
                "method": method,
                "url": url,
                "content_type": headers.get("Content-Type"),
                "body": body.decode("utf-8") if isinstance(body, bytes) else body,
            }
        )
        return _Response()

    with mock.patch.object(_helpers, "utcnow", return_value=now):
        credentials = service_account.Credentials.from_service_account_info(
            info, scopes=job["scopes"], subject=job.get("subject")
        )
        assertion = credentials._make_authorization_grant_assertion()
        credentials.refresh(transport)
    if len(requests) != 1:
        raise SystemExit(f"expected one request from refresh(), got {len(requests)}")
    if isinstance(assertion, bytes):
        assertion = assertion.decode("ascii")
    json.dump(
        {
            "google_auth": google.auth.__version__,
            "assertion": assertion,
            "request": requests[0],
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
