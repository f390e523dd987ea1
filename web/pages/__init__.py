"""Server-rendered pages for people."""


def init_app(app) -> None:
    pass
