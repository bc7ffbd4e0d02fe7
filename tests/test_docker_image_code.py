"""components/docker_image_code.py on archives built here in the two layouts ``docker save`` writes
(Docker Engine before 25: ``<id>/layer.tar``; since: the OCI layout, ``blobs/sha256/<digest>``),
for what the test engine does not produce: opaque-folder whiteouts (overlayfs writes them, the
vfs driver the tests' dockerd uses does not), layers listed out of order, the bounds. The real
path, ``docker save`` of an image a ``docker build`` made, is tests/test_import_docker.py's.
"""

from __future__ import annotations

import hashlib
import io
import stat
import tarfile

import pytest

from functions_tui.components import docker_image_code
from functions_tui.components.docker_image_code import CodeTooBig, read_workdir


def layer(entries: list[tuple[str, str | None]]) -> bytes:
    """A layer tar: (path, text) for a file, (path, None) for a folder."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, text in entries:
            info = tarfile.TarInfo(path)
            if text is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                data = text.encode()
                info.size, info.mode = len(data), 0o755 if path.endswith(".sh") else 0o644
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def diff_id(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def saved(layers: list[bytes], oci: bool) -> list[bytes]:
    """The archive ``docker save`` streams, in chunks, its members in reverse layer order (the
    order is the archive's, not the image's: diff ids tell them apart)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for number, data in reversed(list(enumerate(layers))):
            name = f"blobs/sha256/{diff_id(data)[7:]}" if oci else f"{number:064x}/layer.tar"
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        manifest = b'[{"Layers": []}]'
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    data = buffer.getvalue()
    return [data[i:i + 1000] for i in range(0, len(data), 1000)]


BASE = layer([("srv", None), ("srv/app", None), ("srv/app/from-base.txt", "base\n"), ("etc/os", "base os\n")])
CODE = layer([("srv/app/main.py", "print(1)\n"), ("srv/app/run.sh", "#!/bin/sh\n"), ("srv/app/old", None),
              ("srv/app/old/a.txt", "a\n"), ("srv/app/cache/x", "x\n"), ("srv/other.txt", "elsewhere\n")])
LATER = layer([("srv/app/.wh.main.py", ""), ("srv/app/old/.wh..wh..opq", ""), ("srv/app/old/b.txt", "b\n"),
               ("srv/app/.wh.cache", ""), ("srv/app/new.py", "print(2)\n")])


@pytest.mark.parametrize("oci", [False, True])
def test_the_layers_above_the_base_are_applied_in_order_with_whiteouts(tmp_path, oci):
    layers = [BASE, CODE, LATER]
    got = read_workdir(saved(layers, oci), [diff_id(d) for d in layers], 1, "/srv/app", tmp_path)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    # The base's file is not code; main.py, old/a.txt and cache/ are removed by the later layer.
    assert written == got.files == ["new.py", "old/b.txt", "run.sh"]
    assert got.layers == 2 and got.size == len("print(2)\nb\n#!/bin/sh\n")
    assert stat.S_IMODE((tmp_path / "run.sh").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new.py").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "old").stat().st_mode) == 0o700


def test_a_whiteout_of_the_folder_above_workdir_hides_the_lower_layers(tmp_path):
    layers = [CODE, layer([(".wh.srv", ""), ("srv/app/only.py", "1\n")])]
    got = read_workdir(saved(layers, False), [diff_id(d) for d in layers], 0, "srv/app", tmp_path)
    assert got.files == ["only.py"]


def test_beyond_the_bounds_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(docker_image_code, "MAX_CODE_FILES", 2)
    layers = [BASE, CODE]
    with pytest.raises(CodeTooBig):
        read_workdir(saved(layers, True), [diff_id(d) for d in layers], 1, "/srv/app", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_layer_missing_from_the_archive_is_said(tmp_path):
    with pytest.raises(LookupError, match="not in the saved image"):
        read_workdir(saved([CODE], False), [diff_id(BASE), diff_id(LATER)], 1, "/srv/app", tmp_path)
