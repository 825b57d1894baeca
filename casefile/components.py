"""Typed access to the configured components of the running app.

`create_app` builds each component once from the settings and keeps it on the app; services reach them only
through these functions, never through string keys into `app.extensions`, so a misspelt key is a type error and
each component has one name. Everything here needs an application context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask import Flask, current_app

if TYPE_CHECKING:
    from werkzeug.local import LocalProxy

    from casefile.config import Settings
    from casefile.custody.keys import InstanceKey
    from casefile.jobs.queue import JobQueue
    from casefile.storage import BlobStore
    from casefile.witnesses.crypto import FieldCipher

_SETTINGS = "casefile_settings"
_BLOBS = "casefile_blobs"
_KEY = "casefile_key"
_CIPHER = "casefile_cipher"
_QUEUE = "casefile_queue"


def install(app: Flask, *, settings: Settings, blobs: BlobStore, key: InstanceKey, cipher: FieldCipher) -> None:
    """Called once by create_app."""
    app.extensions[_SETTINGS] = settings
    app.extensions[_BLOBS] = blobs
    app.extensions[_KEY] = key
    app.extensions[_CIPHER] = cipher


def install_queue(app: Flask, queue: JobQueue) -> None:
    """Called once by create_app (the queue needs the app, so it is made after the other components)."""
    app.extensions[_QUEUE] = queue


def application() -> Flask:
    """The app behind the `current_app` proxy, for work that outlives the request's context (a dossier build,
    a job worker): the proxy itself stops resolving once that context is gone."""
    # Flask annotates current_app as a Flask, so the proxy's own method is reached through its real type.
    return cast("LocalProxy[Flask]", current_app)._get_current_object()


def settings(app: Flask | None = None) -> Settings:
    return cast("Settings", (app or current_app).extensions[_SETTINGS])


def blob_store(app: Flask | None = None) -> BlobStore:
    return cast("BlobStore", (app or current_app).extensions[_BLOBS])


def instance_key(app: Flask | None = None) -> InstanceKey:
    return cast("InstanceKey", (app or current_app).extensions[_KEY])


def field_cipher(app: Flask | None = None) -> FieldCipher:
    return cast("FieldCipher", (app or current_app).extensions[_CIPHER])


def job_queue(app: Flask | None = None) -> JobQueue:
    return cast("JobQueue", (app or current_app).extensions[_QUEUE])
