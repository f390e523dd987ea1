"""API tokens: sign in for a bearer token (throttled, audited), revoke it."""
from __future__ import annotations

from flask import Response, current_app, g, request

from engine import issue_token, revoke_token, sign_in

from .. import db
from ..security import throttle_sign_in
from . import errors
from .base import ApiBlueprint
from .errors import NotAuthenticated, responds
from .schemas import TokenRequestSchema, TokenSchema

blp = ApiBlueprint("api_auth", __name__, url_prefix="/api/v1/auth",
                   description="Sign in for an API token; revoke it.")


def _username():
    body = request.get_json(silent=True)
    return body.get("username") if isinstance(body, dict) else None


@blp.route("/token", methods=["POST"])
@throttle_sign_in(_username)  # the same buckets as the sign-in page
@blp.arguments(TokenRequestSchema, example={"username": "nadia", "password": "demo"})
@blp.response(200, TokenSchema)
@blp.doc(security=[], summary="Sign in for an API token")
@responds(*errors.JSON_BODY, 401, 429)
def create_token(credentials):
    """Exchange a username and password for a bearer token.

    Every attempt, successful or not, is recorded in the audit trail.
    """
    session = db.session()
    user = sign_in(session, credentials["username"], credentials["password"], via="api", address=request.remote_addr)
    if user is None:
        db.keep()  # the failed attempt stays on record although the answer is an error
        raise NotAuthenticated("wrong username or password")
    token, row = issue_token(session, user, current_app.config["API_TOKEN_HOURS"])
    return {"token": token, "expires_at": row.expires_at}


@blp.route("/token", methods=["DELETE"])
@blp.response(204)
@blp.doc(summary="Revoke the token in use")
@responds(*errors.COMMON)
def delete_token():
    """Revoke the token sent with this request: it is refused from now on."""
    revoke_token(db.session(), g.api_token)
    return Response(status=204)
