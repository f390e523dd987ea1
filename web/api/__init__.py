"""The JSON API under /api/v1 (flask-smorest), documented at /api/openapi.json."""


def init_app(app) -> None:
    pass
