"""The upload store: audio answers kept on local disk under one root folder."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path
from typing import IO

from flask import current_app

_SAFE_EXTENSION = re.compile(r"^[a-z0-9]{1,8}$")

# Audio types that browsers and phones upload, with the extension stored for each.
AUDIO_EXTENSIONS = {
    "audio/webm": "webm",
    "video/webm": "webm",
    "audio/ogg": "ogg",
    "audio/opus": "opus",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/aac": "aac",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/3gpp": "3gp",
}


class LocalStorage:
    """Files under ``root``, written atomically and addressed by relative keys."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def save(self, stream: IO[bytes], prefix: str, extension: str) -> tuple[str, int]:
        """Write ``stream`` to a new key under ``prefix``; return the key and size.

        The data is flushed to disk before this returns, so a key that reaches the
        database always names a complete file.
        """
        extension = (
            extension.lower() if _SAFE_EXTENSION.match(extension.lower()) else "bin"
        )
        key = f"{prefix.strip('/')}/{secrets.token_hex(12)}.{extension}"
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".part")
        with open(partial, "wb") as handle:
            shutil.copyfileobj(stream, handle, length=1024 * 1024)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
        return key, target.stat().st_size

    def path(self, key: str) -> Path:
        """Return the file of ``key``, refusing keys that leave the root."""
        target = (self.root / key).resolve()
        if not target.is_relative_to(self.root):
            raise ValueError(f"storage key {key!r} points outside the upload folder")
        return target

    def with_extension(self, key: str, extension: str) -> str:
        """Rename the file of ``key`` to end in ``extension``; return the new key."""
        stem, _dot, current = key.rpartition(".")
        if extension == current or not _SAFE_EXTENSION.match(extension):
            return key
        renamed = f"{stem}.{extension}"
        os.replace(self.path(key), self.path(renamed))
        return renamed

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


def get_storage() -> LocalStorage:
    """Return the upload store configured by ``UPLOAD_DIR``."""
    return LocalStorage(current_app.config["UPLOAD_DIR"])


# The only types an uploaded recording is served back as. Anything else is sent
# as a download, so an upload can never run as a page or a script on this site.
MIME_TYPES = {
    "webm": "audio/webm",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/ogg",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "mp4": "audio/mp4",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "3gp": "audio/3gpp",
}

# Declared types that an audio upload may carry; browsers send an empty type
# or application/octet-stream for files they do not recognise.
ACCEPTED_UPLOAD_TYPES = {*AUDIO_EXTENSIONS, "application/octet-stream", ""}


# FFmpeg's container names, as PyAV reports them, and the extension of each.
FORMAT_EXTENSIONS = {
    "matroska,webm": "webm",
    "ogg": "ogg",
    "wav": "wav",
    "mp3": "mp3",
    "mov,mp4,m4a,3gp,3g2,mj2": "m4a",
    "aac": "aac",
    "flac": "flac",
}


def extension_for(filename: str | None, content_type: str | None) -> str:
    """Pick a file extension from the upload's content type, else its file name."""
    if content_type:
        base_type = content_type.split(";")[0].strip().lower()
        if base_type in AUDIO_EXTENSIONS:
            return AUDIO_EXTENSIONS[base_type]
    if filename and "." in filename:
        return filename.rsplit(".", 1)[1].lower()
    return "bin"


def is_audio_upload(filename: str | None, content_type: str | None) -> bool:
    """Return whether an upload declares an audio type or an audio file extension."""
    base_type = (content_type or "").split(";")[0].strip().lower()
    if base_type.startswith("audio/"):
        return True
    extension = extension_for(filename, None)
    return base_type in ACCEPTED_UPLOAD_TYPES and extension in MIME_TYPES


def mime_type_for(key: str) -> str | None:
    """Return the audio type to serve a stored file as, or None for a download."""
    return MIME_TYPES.get(key.rsplit(".", 1)[-1].lower())
