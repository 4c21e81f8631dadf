"""The Flask front end (see web/app.py)."""


def create_app(*args, **kwargs):
    from .app import create_app as factory

    return factory(*args, **kwargs)
