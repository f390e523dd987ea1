"""Who am I: the token holder's profile and roles."""
from __future__ import annotations

from flask import g

from .. import db
from . import errors, representations
from .base import ApiBlueprint
from .errors import responds
from .schemas import MeSchema

blp = ApiBlueprint("api_me", __name__, url_prefix="/api/v1/me", description="The signed-in person.")


@blp.route("", methods=["GET"])
@blp.response(200, MeSchema)
@responds(*errors.COMMON)
def get_me():
    """The token holder: username, name, e-mail, roles, directorate and line manager."""
    return representations.me(db.session(), g.api_user)
