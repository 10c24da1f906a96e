"""Where PDFs come from: a folder (the embedded default) or an Azure Blob container.

Both list what they hold with a cheap version stamp (size and modification time; the
blob's ETag), so the indexer can pass over an unchanged file without reading it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# Files a copy or an editor is still writing, and the OS's own droppings.
_IGNORED_PREFIXES = (".", "~$")
_IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", ".download", ".swp")


@dataclass(frozen=True)
class SourceFile:
    name: str  # relative path in the folder, or the blob name
    version: str  # changes whenever the content may have
    size: int
    uploaded_at: float  # UNIX seconds
    location: str  # where a person can open it


class Source(Protocol):
    key: str  # "folder:/abs/path" or "blob:container"

    def files(self) -> list[SourceFile]: ...
    def read(self, file: SourceFile) -> bytes: ...


def ignored(name: str) -> bool:
    base = Path(name).name
    return base.startswith(_IGNORED_PREFIXES) or base.lower().endswith(_IGNORED_SUFFIXES)


class FolderSource:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.key = f"folder:{self.root}"

    def files(self) -> list[SourceFile]:
        found = []
        for path in sorted(self.root.rglob("*")):
            relative = path.relative_to(self.root).as_posix()
            if not path.is_file() or any(ignored(part) for part in relative.split("/")):
                continue
            stat = path.stat()
            found.append(
                SourceFile(relative, f"{stat.st_size}:{stat.st_mtime_ns}", stat.st_size,
                           stat.st_mtime, str(path))
            )  # fmt: skip
        return found

    def read(self, file: SourceFile) -> bytes:
        return (self.root / file.name).read_bytes()


class BlobSource:
    """An Azure Blob Storage container (Azurite locally), read with azure-storage-blob."""

    def __init__(self, connection_string: str, container: str) -> None:
        from azure.storage.blob import ContainerClient

        self.client = ContainerClient.from_connection_string(connection_string, container)
        self.key = f"blob:{container}"

    def files(self) -> list[SourceFile]:
        found = []
        for blob in self.client.list_blobs():
            if ignored(blob.name):
                continue
            modified = blob.last_modified.timestamp() if blob.last_modified else 0.0
            url = f"{self.client.url}/{blob.name}"
            found.append(SourceFile(blob.name, str(blob.etag), blob.size or 0, modified, url))
        return sorted(found, key=lambda f: f.name)

    def read(self, file: SourceFile) -> bytes:
        return self.client.download_blob(file.name).readall()
