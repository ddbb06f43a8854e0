"""Where content's bytes live: a folder under the data dir, or any S3-compatible bucket.

An upload never sits in memory: it is written chunk by chunk to a staging file on local disk
(``Staging``), counted as it goes, and refused the moment it passes its limit. The staged file
is what the probe reads; only once it is known good is it moved into the store under its key
(``ObjectStore.put_file``). Whatever fails on the way deletes the staged file, so a refusal
leaves nothing half-stored. Keys are made by the service (``<workspace>/<asset>/<version>``)
and never come from a caller.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tessera.config import Settings
from tessera.content.errors import UploadTooLarge

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CHUNK_BYTES = 1024 * 1024


class ObjectStore(Protocol):
    """What the content service needs of a store."""

    def put_file(self, path: Path, key: str, media_type: str) -> None: ...

    def fetch(self, key: str, path: Path) -> None: ...

    def read(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


class LocalStore:
    """Objects as files under ``root``; a move within one disk is a rename."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"key {key!r} leaves the store")
        return path

    def put_file(self, path: Path, key: str, media_type: str) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)

    def fetch(self, key: str, path: Path) -> None:
        shutil.copyfile(self._path(key), path)

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


class S3Store:
    """Objects in one bucket of an S3-compatible store (AWS, MinIO, R2...); uploads are
    multipart above boto3's threshold, so a large video goes up in parts from disk."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put_file(self, path: Path, key: str, media_type: str) -> None:
        self.client.upload_file(str(path), self.bucket, key, ExtraArgs={"ContentType": media_type})
        path.unlink(missing_ok=True)

    def fetch(self, key: str, path: Path) -> None:
        self.client.download_file(self.bucket, key, str(path))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def exists(self, key: str) -> bool:
        found = self.client.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        return any(item.get("Key") == key for item in found.get("Contents", []))


class StagedFile:
    """One upload being written to local disk, counted against its limit."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.size = 0
        self._digest = hashlib.sha256()
        self._file = path.open("wb")

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def write(self, chunk: bytes) -> None:
        """Append a chunk; past the limit the file is deleted and ``UploadTooLarge`` raised."""
        self.size += len(chunk)
        if self.size > self.limit:
            self.discard()
            raise UploadTooLarge(
                f"the file is over the limit of {_size(self.limit)}", limit=_size(self.limit)
            )
        self._file.write(chunk)
        self._digest.update(chunk)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


class Staging:
    """The folder where uploads are written before they are probed and stored."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def new(self, limit: int, suffix: str = "") -> StagedFile:
        self.root.mkdir(parents=True, exist_ok=True)
        return StagedFile(self.root / f"{uuid.uuid4().hex}{suffix}", limit)

    @contextlib.contextmanager
    def scratch(self, suffix: str = "") -> Iterator[Path]:
        """A path for a file made here (a rendition), deleted after unless moved away."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"{uuid.uuid4().hex}{suffix}"
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    def leftovers(self) -> list[str]:
        """Names of the staged files still here (nothing, between requests)."""
        if not self.root.is_dir():
            return []
        return sorted(os.listdir(self.root))


def _size(limit: int) -> str:
    if limit >= 1024**3 and limit % 1024**3 == 0:
        return f"{limit // 1024**3} GB"
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MB"
    return f"{limit // 1024} KB"


def size_text(limit: int) -> str:
    return _size(limit)


class ContentFiles:
    """The store, the staging folder and the size limits: one per process, made from settings."""

    def __init__(
        self, store: ObjectStore, staging: Staging, max_image: int, max_video: int
    ) -> None:
        self.store = store
        self.staging = staging
        self.max_image = max_image
        self.max_video = max_video

    @property
    def max_upload(self) -> int:
        return max(self.max_image, self.max_video)

    @classmethod
    def from_settings(cls, settings: Settings) -> ContentFiles:
        root = settings.data_dir / "content"
        store: ObjectStore
        if settings.storage_backend == "s3":
            import boto3

            client = boto3.client(
                "s3",
                endpoint_url=settings.s3_endpoint_url or None,
                region_name=settings.s3_region,
                aws_access_key_id=settings.s3_access_key_id or None,
                aws_secret_access_key=settings.s3_secret_access_key.get_secret_value() or None,
            )
            store = S3Store(client, settings.s3_bucket)
        else:
            store = LocalStore(root / "objects")
        return cls(
            store,
            Staging(root / "staging"),
            settings.content_max_image_bytes,
            settings.content_max_video_bytes,
        )


def files_of_app(state: Any) -> ContentFiles:
    """The app's content files, made once from ``state.settings`` and kept on ``state`` (the
    app's own lifetime, so a test's app never sees another's)."""
    files: ContentFiles | None = getattr(state, "content_files", None)
    if files is None:
        files = ContentFiles.from_settings(state.settings)
        state.content_files = files
    return files
