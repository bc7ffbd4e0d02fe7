"""Local runtime base images, made without any registry pull.

A function's image is built ``FROM`` a base image per runtime. Where no registry is
reachable (tests, the sandbox, an offline laptop) we make our own: a root filesystem
holding a *static* busybox (Debian: ``busybox-static``) imported with ``docker import``.
Containers from it really run: the default command serves the function's source folder
over HTTP with ``busybox httpd`` on ``$PORT``.
"""

from __future__ import annotations

import io
import shutil
import struct
import tarfile
from pathlib import Path
from typing import Any

#: Our local base images live outside the ``functions-tui/`` namespace of function
#: images, so they never show up as (unmarked) functions.
LOCAL_BASE_REPO = "functions-tui-base"
LOCAL_BASE_TAG = "local"
#: Label on every local base image (not the ownership mark: base images are not functions).
BASE_LABEL = "functions-tui.base-image"

#: Serves the function's source (COPY'd to /app) on $PORT; PID 1 is docker's init when
#: the container runs with init=True, so it stops at once.
SERVE_SCRIPT = """#!/bin/sh
# functions-tui local runtime: serve the function's source folder over HTTP on $PORT.
exec /bin/busybox httpd -f -p "${PORT:-8080}" -h /app
"""

#: Applets linked in /bin so shell-form commands and `docker exec` work.
APPLETS = ("sh", "sleep", "ls", "cat", "env", "echo", "httpd", "wget", "ps", "kill", "true", "false")

BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")


class BaseImageError(RuntimeError):
    """No local base image can be made; the message says how to fix it."""


def local_base_ref(family: str) -> str:
    """The tag of our local base image for a runtime family (``python``, ``nodejs``...)."""
    return f"{LOCAL_BASE_REPO}/{family}:{LOCAL_BASE_TAG}"


def is_local_base_ref(ref: str) -> bool:
    return ref.startswith(LOCAL_BASE_REPO + "/")


def _is_static_elf(path: Path) -> bool:
    """True for an ELF executable without a program interpreter (PT_INTERP), i.e. static."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF":
            return False
        is64 = head[4] == 2
        endian = "<" if head[5] == 1 else ">"
        if is64:
            phoff, = struct.unpack_from(endian + "Q", head, 0x20)
            phentsize, phnum = struct.unpack_from(endian + "HH", head, 0x36)
        else:
            phoff, = struct.unpack_from(endian + "I", head, 0x1C)
            phentsize, phnum = struct.unpack_from(endian + "HH", head, 0x2A)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    for i in range(phnum):
        p_type, = struct.unpack_from(endian + "I", table, i * phentsize)
        if p_type == 3:  # PT_INTERP: needs a dynamic loader the image won't have
            return False
    return True


def find_static_busybox() -> Path:
    """The host's static busybox binary, or BaseImageError with the fix."""
    found = [Path(p) for p in BUSYBOX_CANDIDATES if Path(p).is_file()]
    which = shutil.which("busybox")
    if which:
        found.append(Path(which))
    for path in found:
        if _is_static_elf(path):
            return path
    hint = " (the busybox found is dynamically linked)" if found else ""
    raise BaseImageError(
        f"no static busybox to make a local base image{hint}; "
        "install it with `apt-get install busybox-static`, or configure docker base images that exist locally")


def rootfs_tarball(busybox: Path | None = None) -> bytes:
    """A tiny root filesystem: static busybox, applet links, the serve script, /app, /tmp."""
    busybox = busybox or find_static_busybox()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for directory in ("bin", "app", "tmp", "etc"):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        tar.add(str(busybox), arcname="bin/busybox")
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
        for name, text, mode in (("bin/functions-tui-serve", SERVE_SCRIPT, 0o755),
                                 ("etc/passwd", "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n", 0o644),
                                 ("etc/group", "root:x:0:\nnogroup:x:65534:\n", 0o644)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def ensure_base_image(api: Any, ref: str) -> str:
    """Make sure our local base image ``ref`` exists on the engine behind ``api``
    (a docker ``APIClient``); import it from a busybox tarball if missing. Returns its id."""
    import docker.errors

    try:
        return api.inspect_image(ref)["Id"]
    except docker.errors.ImageNotFound:
        pass
    repository, _, tag = ref.rpartition(":")
    if not repository or "/" in tag:
        repository, tag = ref, LOCAL_BASE_TAG
    family = repository.rsplit("/", 1)[-1]
    api.import_image_from_data(
        rootfs_tarball(), repository=repository, tag=tag,
        changes=[f'LABEL {BASE_LABEL}="{family}"', "ENV PATH=/bin", "WORKDIR /app",
                 'CMD ["/bin/functions-tui-serve"]'])
    return api.inspect_image(ref)["Id"]
