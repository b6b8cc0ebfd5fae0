"""Python OAuth client libraries asking the Worker example for a token (real-clients.test.mjs).

Reads one JSON object on standard input, a job:
    {"library": "google-auth", "key_file": {...service account key file...},
     "scopes": [SCOPE, ...], "additional_claims": {...} or null}
    {"library": "authlib-grant", "token_endpoint": URL, "issuer": ISS, "subject": SUB,
     "audience": AUD or null, "private_key": PEM}
    {"library": "authlib-private-key-jwt", "token_endpoint": URL, "client_id": ID,
     "private_key": PEM, "audience": AUD or null, "typ": TYP or null}
runs the library as its documentation shows, with the pinned versions of
target/google-auth-venv (tests/google-auth/requirements.txt, installed by `cargo xtask
setup`), and prints one JSON object:
    {"library": NAME, "version": VERSION,
     "sent": [{"url", "content_type", "body"}, ...]: every request the library made,
     "token": the access token response, or null,
     "error": {"status", "body"} of the refusal, or null}

Nothing is patched inside the libraries: google-auth posts to the key file's token_uri and
authlib to the token endpoint it is given, here the Worker on 127.0.0.1. The requests are
recorded by a response hook of the `requests` session each library sends through.
"""

import json
import sys

import requests


def main():
    job = json.load(sys.stdin)
    sent = []
    refusals = []

    def record(response, *_, **__):
        request = response.request
        body = request.body
        sent.append(
            {
                "url": request.url,
                "content_type": request.headers.get("Content-Type"),
                "body": body.decode("utf-8") if isinstance(body, bytes) else body,
            }
        )
        if response.status_code != 200:
            refusals.append({"status": response.status_code, "body": response.json()})
        return response

    run = LIBRARIES[job["library"]]
    version, token, failure = run(job, record)
    if failure is not None and not refusals:
        # A failure without a refusal from the server: the library's own, reported as is.
        raise failure
    json.dump(
        {
            "library": job["library"],
            "version": version,
            "sent": sent,
            "token": token,
            "error": refusals[0] if refusals else None,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


def google_auth(job, record):
    """google-auth's service-account credentials, refreshed as any Google client library
    does before its first call: a jwt-bearer grant posted to the key file's token_uri."""
    import google.auth
    import google.auth.transport.requests
    from google.oauth2 import service_account

    session = requests.Session()
    session.hooks["response"].append(record)
    credentials = service_account.Credentials.from_service_account_info(
        job["key_file"],
        scopes=job["scopes"],
        additional_claims=job.get("additional_claims") or None,
    )
    try:
        credentials.refresh(google.auth.transport.requests.Request(session))
    except Exception as err:  # the refusal, recorded by `record`; checked in main()
        return google.auth.__version__, None, err
    return (
        google.auth.__version__,
        {"access_token": credentials.token, "expiry": credentials.expiry.isoformat()},
        None,
    )


def authlib_grant(job, record):
    """authlib's AssertionSession: a JWT authorization grant (RFC 7523 §2.1) it signs itself."""
    import authlib
    from authlib.integrations.requests_client import AssertionSession

    session = AssertionSession(
        token_endpoint=job["token_endpoint"],
        issuer=job["issuer"],
        subject=job["subject"],
        audience=job.get("audience"),
        key=job["private_key"],
        header={"alg": "RS256"},
    )
    session.hooks["response"].append(record)
    try:
        token = session.refresh_token()
    except Exception as err:  # the refusal, recorded by `record`; checked in main()
        return authlib.__version__, None, err
    return authlib.__version__, dict(token), None


def authlib_private_key_jwt(job, record):
    """authlib's OAuth2Session with PrivateKeyJWT (client authentication, RFC 7523 §2.2)
    and the client_credentials grant."""
    import authlib
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

    session = OAuth2Session(
        job["client_id"],
        job["private_key"],
        token_endpoint_auth_method=PrivateKeyJWT(
            job.get("audience") or job["token_endpoint"],
            headers={"typ": job["typ"]} if job.get("typ") else None,
        ),
    )
    session.hooks["response"].append(record)
    try:
        token = session.fetch_token(job["token_endpoint"], grant_type="client_credentials")
    except Exception as err:  # the refusal, recorded by `record`; checked in main()
        return authlib.__version__, None, err
    return authlib.__version__, dict(token), None


LIBRARIES = {
    "google-auth": google_auth,
    "authlib-grant": authlib_grant,
    "authlib-private-key-jwt": authlib_private_key_jwt,
}


if __name__ == "__main__":
    main()
