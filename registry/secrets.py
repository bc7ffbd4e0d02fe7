"""No secret at rest in clear: the registry's key, encrypted env values, ``${VAR}`` references
and keyed hashes.

The registry file (and so its generations and backups) holds no env value in clear:

- a value declared as ``${VAR}`` stays a reference: ``ref:1:<keyed hash>:${VAR}``. It is
  resolved when the record is read, from the environment, else the declaration's
  ``variables:``, else the reference's own ``:-default``. In memory the spec holds the
  resolved value as an :class:`EnvRef` (a ``str``, so adapters and fingerprints see the plain
  value) that remembers the reference, so writing the record back writes the reference again,
  never the value. The keyed hash is the value the reference had when it was last written: a
  reference that cannot be resolved here (the variable is not set in this shell) still
  compares by it, and refuses to be deployed (:class:`UnresolvedReferenceError`). A
  reference text holding more than variables (a ``:-default``, literal text) is itself
  encrypted: ``ref:1:<hash>:enc:1:...``;
- any other value (pulled from a component, written literally in function.yaml) is encrypted:
  ``enc:1:<base64url>``, AES-SIV (RFC 5297, ``cryptography``'s AESSIV, 512-bit key):
  authenticated, and deterministic, so an unchanged value is the same text at every write (no
  spurious history, no churn between generations) while nothing about it shows but equality;
- history never keeps a value, not even encrypted: an env value in an entry is replaced by a
  keyed digest ``~<16 hex>`` that tells two values apart ("env.API_KEY changed") and reveals
  nothing (registry.history);
- fingerprints (bases, the declaration snapshot, docker's spec label) hash env values with
  HMAC-SHA256 under a per-registry secret: ``k:<16 hex>``. Without the key file the registry
  file reveals nothing, and a short password cannot be brute-forced from it.

The key (the AES-SIV key and the HMAC secret, with an id) lives outside the registry file: in
the OS keyring when ``FUNCTIONS_TUI_KEYRING=1`` and the ``keyring`` package has a usable
backend, else in ``<registry name>.key`` next to the registry (``registry.key`` in the config
dir), 0600 in a 0700 folder, created on first use. The registry's meta records the key id, so
a registry copied without its key (or beside another registry's key) fails with one line
naming the key file, never with garbage or with every value reading as changed.

Upgrading (schema 2 to 3, registry.migrations): plain env values are encrypted, history is
scrubbed, and the old unsalted hashes (``h:`` + sha256) become ``l:<HMAC of the old hash>``:
keyed too, and still comparable. :func:`registry.fingerprint.hash_matches` and the engine
(registry.classify) treat ``l:H(v)`` as equal to ``k:H(v)`` wherever the plain value is at hand,
so bases recorded before the upgrade are not drift; docker labels deployed before it carry
``h:`` hashes and are read the same way (:func:`canonical_hash`).

Hashing needs no key argument: the store's keys are *active* (:func:`activate`, done by
RegistryStore) and :func:`registry.fingerprint.hash_value` uses them. With no store in the
process (a benchmark, a unit test) an in-memory key is made up.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets as _random
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from functions_tui.registry.errors import RegistryError

ENC_PREFIX = "enc:1:"
REF_PREFIX = "ref:1:"
KEYED = "k:"           # HMAC-SHA256 under the registry's secret, 16 hex
LEGACY = "h:"          # unsalted sha256 of the value, 16 hex (before schema 3; old docker labels)
LEGACY_KEYED = "l:"    # HMAC of a legacy hash: keyed, and comparable with the value when known
MARK = "~"             # history's stand-in for a value: a keyed digest, 16 hex
_HASH_LEN = 18         # len("k:" + 16 hex)

KEY_FORMAT = "functions-tui registry key 1"
KEYRING_ENV = "FUNCTIONS_TUI_KEYRING"
KEYRING_SERVICE = "functions-tui"
KEY_FILE_MODE = 0o600
_AAD = None  # no associated data: the key serves env values only (AAD costs a CMAC pass a value)
#: The first registry schema with no env value in clear (registry.migrations).
ENCRYPTED_SCHEMA = 3
_MEMO_MAX = 200_000

#: ``${VAR}`` / ``${VAR:-default}`` / ``$$`` (as app.yaml_nodes reads declarations).
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_ONLY_VARS = re.compile(r"(?:\$\{[A-Za-z_][A-Za-z0-9_]*\})+")


class SecretsError(RegistryError):
    """A registry whose secrets cannot be read here; one line naming the key file."""


class MissingKeyError(SecretsError):
    """The registry needs a key that is not here (copied without it, or deleted)."""


class WrongKeyError(SecretsError):
    """The key here is not the one the registry was written with."""


# --- references ---------------------------------------------------------------------------------

def has_reference(text: str) -> bool:
    """True when a declaration's scalar text uses a variable (``$$`` alone is no reference)."""
    return "${" in text and any(m.group(1) for m in _VAR.finditer(text))


def reference_names(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(1) for m in _VAR.finditer(text) if m.group(1)))


def _rebuild_ref(value: str, ref: str, digest: str, resolved: bool, key: str, function: str) -> "EnvRef":
    return EnvRef(value, ref, digest=digest, resolved=resolved, key=key, function=function)


_UNRESOLVED_CLASS: list[type] = []


def _unresolved_error(message: str) -> Exception:
    # An ApplyError (registry.component imports this module's importers, so it is made lazily):
    # an apply reports it as it is, one line.
    if not _UNRESOLVED_CLASS:
        from functions_tui.registry.component import ApplyError

        _UNRESOLVED_CLASS.append(type("UnresolvedReferenceError", (ApplyError,), {
            "__doc__": "An env value declared as ${VAR} whose variable is not set here: not deployable."}))
    return _UNRESOLVED_CLASS[0](message)


class EnvRef(str):
    """An env value declared as a reference (``${VAR}``): the resolved value, a ``str`` like any
    other, that remembers its reference so it is stored as the reference, never as the value.

    ``resolved`` False: the variable is not set here; the string is then the reference text,
    ``digest`` (the keyed hash of the value it had when last written) stands for it in
    fingerprints, and turning it into text for a deploy (``str()``, formatting) raises
    UnresolvedReferenceError naming the variable. A value that replaces it (a pull) is a plain
    ``str``: the reference is gone with it.
    """

    __slots__ = ("ref", "digest", "resolved", "key", "function")

    def __new__(cls, value: str, ref: str, *, digest: str = "", resolved: bool = True,
                key: str = "", function: str = "") -> "EnvRef":
        self = str.__new__(cls, value)
        self.ref = ref
        self.digest = digest
        self.resolved = resolved
        self.key = key
        self.function = function
        return self

    def __reduce__(self):
        return (_rebuild_ref, (str.__str__(self), self.ref, self.digest, self.resolved, self.key, self.function))

    def plain(self) -> str:
        return str.__str__(self)

    def _check(self) -> None:
        if not self.resolved:
            names = reference_names(self.ref)
            where = f"{self.function}: " if self.function else ""
            field = f"env.{self.key}" if self.key else "an env value"
            raise _unresolved_error(
                f"{where}{field} is declared as a reference to {', '.join('$' + n for n in names) or 'a variable'}, "
                f"which is not set here: set {' and '.join(names) or 'it'} (in the environment or the "
                "declaration's variables:) to deploy it")

    def __str__(self) -> str:
        self._check()
        return str.__str__(self)

    def __format__(self, spec: str) -> str:
        self._check()
        return format(str.__str__(self), spec)


_DECL_CACHE: dict[str, tuple[tuple[int, int], dict[str, str]]] = {}


def declaration_variables(declared_in: str) -> dict[str, str]:
    """The ``variables:`` block of the declaration file ``declared_in`` names (``path:line``),
    as text; {} when the file cannot be read. Cached by the file's size and mtime."""
    path, _, line = (declared_in or "").rpartition(":")
    if not line.isdigit():
        path = declared_in or ""
    if not path:
        return {}
    try:
        st = os.stat(path)
    except OSError:
        return {}
    stamp = (st.st_size, st.st_mtime_ns)
    cached = _DECL_CACHE.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    found: dict[str, str] = {}
    try:
        import yaml

        with open(path, encoding="utf-8") as fh:
            root = yaml.compose(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        if isinstance(root, yaml.MappingNode):
            for key, value in root.value:
                if isinstance(key, yaml.ScalarNode) and key.value == "variables" and isinstance(value, yaml.MappingNode):
                    for k, v in value.value:
                        if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode) \
                                and v.tag != "tag:yaml.org,2002:null":
                            found[k.value] = v.value
    except Exception:  # unreadable, not YAML: the reference is then resolved from the environment only
        found = {}
    _DECL_CACHE[path] = (stamp, found)
    return found


class _Unset(Exception):
    pass


def resolve_reference(text: str, declared_in: str = "", environ: Mapping[str, str] | None = None) -> str | None:
    """The value of a reference text now: the environment, else the declaration's
    ``variables:``, else the reference's ``:-default``; None when a variable is set nowhere."""
    env = os.environ if environ is None else environ
    variables: list[dict[str, str]] = []

    def sub(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if name in env:
            return str(env[name])
        if not variables:
            variables.append(declaration_variables(declared_in))
        if name in variables[0]:
            return variables[0][name]
        if default is not None:
            return default
        raise _Unset

    try:
        return _VAR.sub(sub, text)
    except _Unset:
        return None


# --- keys -----------------------------------------------------------------------------------------

def key_path(registry: Path) -> Path:
    """Where the key of the registry at ``registry`` lives: ``registry.key`` beside
    ``registry.json`` (``<name>.key`` beside ``<name>.json``). A kept copy of a registry (a
    generation in ``generations/`` or ``<name>.json.generations/``, ``registry.json.bak``,
    ``registry.json.corrupt-*``) has its registry's key."""
    registry = Path(registry)
    folder = registry.parent
    name = registry.name
    if folder.name == "generations":
        folder, name = folder.parent, "registry.json"
    elif folder.name.endswith(".generations"):
        folder, name = folder.parent, folder.name[:-len(".generations")]
    stem = name.split(".json", 1)[0] if ".json" in name else name
    return folder / f"{stem}.key"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _new_material() -> dict[str, Any]:
    # 64 random bytes is what AESSIV.generate_key(512) returns; made here so that hashing
    # alone (a plan) never needs the cryptography package imported.
    encryption = _random.token_bytes(64)
    mac = _random.token_bytes(32)
    key_id = hashlib.sha256(b"functions-tui key id\0" + encryption + mac).hexdigest()[:16]
    return {"format": KEY_FORMAT, "id": key_id, "cipher": "AES-SIV-512", "mac": "HMAC-SHA256",
            "encryption_key": _b64(encryption), "hmac_key": _b64(mac)}


class _LazySiv:
    """AESSIV on a key, made on first use: hashing (every plan) never imports cryptography."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._siv: Any = None

    def _cipher(self) -> Any:
        if self._siv is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESSIV

            self._siv = AESSIV(self._key)
        return self._siv

    def encrypt(self, data: bytes, aad: Any) -> bytes:
        return self._cipher().encrypt(data, aad)

    def decrypt(self, data: bytes, aad: Any) -> bytes:
        return self._cipher().decrypt(data, aad)


def _keyring():
    """The ``keyring`` module when asked for (FUNCTIONS_TUI_KEYRING=1) and usable, else None."""
    if os.environ.get(KEYRING_ENV, "").strip().lower() not in ("1", "yes", "true", "on"):
        return None
    try:
        import keyring
        from keyring.backends import fail
    except Exception:
        return None
    try:
        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
            return None
    except Exception:
        return None
    return keyring


class RegistryKeys:
    """The secret side of one registry: encryption and keyed hashing with its key.

    ``registry`` None: an in-memory key made up for this process (nothing is stored).
    The key is read (or created) on first use. Thread-safe.
    """

    def __init__(self, registry: Path | None) -> None:
        self.registry = Path(registry) if registry is not None else None
        self.path = key_path(self.registry) if self.registry is not None else None
        self.in_keyring = False
        self._lock = threading.Lock()
        self._id: str | None = None
        self._inner: Any = None
        self._outer: Any = None
        self._siv: Any = None
        self._enc: dict[str, str] = {}
        self._dec: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"RegistryKeys({str(self.path) if self.path else 'in memory'})"

    # --- loading ---------------------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self._id is not None

    @property
    def key_id(self) -> str:
        self._ensure()
        return self._id  # type: ignore[return-value]

    def _ensure(self, create: bool = True) -> None:
        if self._id is None:
            with self._lock:
                if self._id is None:
                    self._install(self._read_or_create(create))

    def _install(self, material: Mapping[str, Any]) -> None:
        try:
            if material.get("format") != KEY_FORMAT:
                raise ValueError(f"unknown format {material.get('format')!r}")
            encryption = _unb64(str(material["encryption_key"]))
            mac = _unb64(str(material["hmac_key"]))
            key_id = str(material["id"])
            if len(encryption) != 64:
                raise ValueError("the encryption key is not 512 bits")
            siv = _LazySiv(encryption)  # cryptography is imported on the first encrypt / decrypt
            if len(mac) < 16:
                raise ValueError("the HMAC secret is too short")
        except Exception as exc:
            raise SecretsError(f"registry key {self._where()} is damaged ({exc}); restore it from your own "
                               "backup (without it the registry's env values cannot be read)") from None
        block = mac.ljust(64, b"\0") if len(mac) <= 64 else hashlib.sha256(mac).digest().ljust(64, b"\0")
        # (The outer state before the inner one: hash() takes "inner is set" to mean ready.)
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self._siv = siv
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._enc.clear()
        self._dec.clear()
        self._id = key_id

    def _where(self) -> str:
        if self.in_keyring:
            return f"(OS keyring, service {KEYRING_SERVICE!r}, entry {self._keyring_entry()!r})"
        return str(self.path) if self.path else "(in memory)"

    def _keyring_entry(self) -> str:
        return f"registry:{os.path.realpath(self.registry)}" if self.registry else ""

    def _read_or_create(self, create: bool) -> Mapping[str, Any]:
        if self.path is None:
            return _new_material()
        ring = _keyring()
        if ring is not None:
            self.in_keyring = True
            try:
                stored = ring.get_password(KEYRING_SERVICE, self._keyring_entry())
            except Exception:
                stored = None
                self.in_keyring = False
            if stored:
                return json.loads(stored)
            if self.in_keyring and not self.path.exists():
                if not create:
                    raise self._missing()
                self._refuse_if_keyed()
                material = _new_material()
                try:
                    ring.set_password(KEYRING_SERVICE, self._keyring_entry(), json.dumps(material))
                    return material
                except Exception:  # the keyring refused: fall back to the key file
                    pass
            self.in_keyring = False
        try:
            return self._read_file()
        except FileNotFoundError:
            pass
        if not create:
            raise self._missing()
        self._refuse_if_keyed()
        return self._create_file()

    def _read_file(self) -> Mapping[str, Any]:
        assert self.path is not None
        with open(self.path, "rb") as fh:
            st = os.fstat(fh.fileno())
            data = fh.read()
        if st.st_mode & 0o077 and st.st_uid == os.getuid():
            os.chmod(self.path, KEY_FILE_MODE)  # someone widened it: the key is the registry's secret
        try:
            material = json.loads(data)
            if not isinstance(material, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            raise SecretsError(f"registry key {self.path} is damaged ({exc}); restore it from your own backup "
                               "(without it the registry's env values cannot be read)") from None
        return material

    def _create_file(self) -> Mapping[str, Any]:
        from functions_tui.registry.storage import secure_dir, write_temp

        assert self.path is not None
        secure_dir(self.path.parent)
        material = _new_material()
        payload = json.dumps(material, indent=1).encode() + b"\n"
        tmp = write_temp(self.path.parent, self.path.name, payload, mode=KEY_FILE_MODE)
        try:
            os.link(tmp, self.path)  # never over a key another process made meanwhile
        except FileExistsError:
            return self._read_file()
        except OSError:  # no hard links here: create it exclusively, then fill it
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, KEY_FILE_MODE)
            except FileExistsError:
                return self._read_file()
            try:
                os.write(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)
        finally:
            os.unlink(tmp)
        try:
            dfd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass
        return material

    def _missing(self) -> MissingKeyError:
        return MissingKeyError(
            f"registry {self.registry} needs its key file {self.path}, which is missing (a registry copied or "
            f"restored without its key cannot be read): copy {self.path.name if self.path else 'it'} from where "
            "the registry came from, next to it")

    def _refuse_if_keyed(self) -> None:
        """Before making a new key: a registry here that was written with a key must not get
        another one (every value would read as garbage, every hash as changed)."""
        assert self.registry is not None
        try:
            with open(self.registry, "rb") as fh:
                data = fh.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return
        except OSError:
            return
        if b'"key":"' in data[:65536] or b'"enc:1:' in data or b'"ref:1:' in data:
            raise self._missing()

    def check(self, meta_key: Any) -> None:
        """Raise WrongKeyError unless the key here is the one ``meta_key`` (the id a registry's
        meta records) names. Loads the key, never creates one for a keyed registry; a missing
        key is MissingKeyError as soon as a value or a hash needs it."""
        if not meta_key:
            return
        try:
            self._ensure(create=False)
        except MissingKeyError:
            # Said when a value must be decrypted or hashed (no new key is ever made for a
            # keyed registry): what needs no secret (a memory setting) still reads.
            return
        if self._id != meta_key:
            raise WrongKeyError(
                f"registry {self.registry} was written with another key than {self._where()} (the registry "
                f"wants key {meta_key}, that file holds key {self._id}): put the registry's own key file there")

    def meta(self, previous: Any = None) -> dict[str, str]:
        """What a write records in the registry's meta: ``{"key": id}``. Every registry gets
        its key at its first write (so a copy without it is recognized from then on)."""
        return {"key": self.key_id}

    # --- hashing -----------------------------------------------------------------------------------
    def hash(self, value: str) -> str:
        """``k:`` + 16 hex of HMAC-SHA256(secret, value)."""
        inner = self._inner
        if inner is None:
            self._ensure()
            inner = self._inner
        i = inner.copy()
        i.update(value.encode("utf-8", "surrogatepass"))
        o = self._outer.copy()
        o.update(i.digest())
        return KEYED + o.hexdigest()[:16]

    def _tagged(self, tag: bytes, value: str) -> str:
        inner = self._inner
        if inner is None:
            self._ensure()
            inner = self._inner
        i = inner.copy()
        i.update(tag + value.encode("utf-8", "surrogatepass"))
        o = self._outer.copy()
        o.update(i.digest())
        return o.hexdigest()[:16]

    def legacy_keyed(self, legacy: str) -> str:
        """``l:`` + keyed digest of an old unsalted hash (``h:...``)."""
        return LEGACY_KEYED + self._tagged(b"legacy\0", legacy)

    def mark(self, stored: str) -> str:
        """History's stand-in for an env value (its stored form or plain text)."""
        return MARK + self._tagged(b"history\0", stored)

    # --- encryption --------------------------------------------------------------------------------
    def encrypt(self, value: str) -> str:
        token = self._enc.get(value)
        if token is None:
            siv = self._siv
            if siv is None:
                self._ensure()
                siv = self._siv
            token = ENC_PREFIX + base64.urlsafe_b64encode(
                siv.encrypt(value.encode("utf-8", "surrogatepass"), _AAD)).rstrip(b"=").decode("ascii")
            if len(self._enc) >= _MEMO_MAX:
                self._enc.clear()
                self._dec.clear()
            self._enc[value] = token
            self._dec[token] = value
        return token

    def decrypt(self, token: str) -> str:
        value = self._dec.get(token)
        if value is None:
            from cryptography.exceptions import InvalidTag

            siv = self._siv
            if siv is None:
                self._ensure(create=False)
                siv = self._siv
            try:
                value = siv.decrypt(_unb64(token[len(ENC_PREFIX):]), _AAD).decode("utf-8", "surrogatepass")
            except (InvalidTag, ValueError, TypeError):
                raise WrongKeyError(
                    f"registry {self.registry}: an env value cannot be decrypted with the key {self._where()} "
                    "(it was written with another key, or altered): put the registry's own key file there") from None
            if len(self._dec) >= _MEMO_MAX:
                self._enc.clear()
                self._dec.clear()
            self._dec[token] = value
            self._enc[value] = token
        return value

    # --- env values in the registry file ---------------------------------------------------------------
    def encode_value(self, value: Any) -> str:
        if value.__class__ is EnvRef:
            if value.resolved:
                digest = self.hash(str.__str__(value))
            else:
                digest = value.digest if _is_hash(value.digest) else self.hash(str.__str__(value))
            text = value.ref
            if not _ONLY_VARS.fullmatch(text):
                text = self.encrypt(text)
            return f"{REF_PREFIX}{digest}:{text}"
        if value.__class__ is not str:
            value = str(value)
        token = self._enc.get(value)
        return token if token is not None else self.encrypt(value)

    def encode_env(self, env: Mapping[str, Any]) -> dict[str, str]:
        """A spec's env as the registry file stores it (values encrypted or references)."""
        out = {}
        enc = self._enc
        for k, v in env.items():
            token = enc.get(v) if v.__class__ is str else None
            out[k] = token if token is not None else self.encode_value(v)
        return out

    def decode_value(self, stored: Any, declared_in: str = "", key: str = "", function: str = "",
                     environ: Mapping[str, str] | None = None) -> Any:
        if stored.__class__ is not str:
            return stored
        if stored.startswith(ENC_PREFIX):
            return self.decrypt(stored)
        if stored.startswith(REF_PREFIX):
            digest = stored[len(REF_PREFIX):len(REF_PREFIX) + _HASH_LEN]
            text = stored[len(REF_PREFIX) + _HASH_LEN + 1:]
            if text.startswith(ENC_PREFIX):
                text = self.decrypt(text)
            value = resolve_reference(text, declared_in, environ)
            if value is None:
                return EnvRef(text, text, digest=digest, resolved=False, key=key, function=function)
            return EnvRef(value, text, digest=digest, resolved=True, key=key, function=function)
        return stored  # written before env values were encrypted (never by schema 3)

    def decode_env(self, env: Mapping[str, Any], declared_in: str = "", function: str = "") -> dict[str, Any]:
        """The plain values (and resolved references) of a stored env."""
        out = {}
        dec = self._dec
        for k, v in env.items():
            plain = dec.get(v) if v.__class__ is str else None
            out[k] = plain if plain is not None else self.decode_value(v, declared_in, k, function)
        return out

    def decode_spec(self, spec: Any) -> Any:
        """Decode a FunctionSpec's env in place (as read from the file); returns it."""
        env = spec.env
        if env:
            spec.env = self.decode_env(env, spec.declared_in, spec.name)
        return spec

    def stored_spec(self, spec: Any) -> Any:
        """A FunctionSpec as the file stores it: the spec itself when it has no env (orjson
        writes the dataclass), else its fields with the env encoded."""
        env = spec.env
        if not env:
            return spec
        doc = spec.__dict__.copy()
        if len(doc) != _SPEC_FIELD_COUNT[0] and len(doc) != len(_spec_fields()):  # an extra attribute
            doc = {f: getattr(spec, f) for f in _spec_fields()}
        enc = self._enc
        out = {}
        for k, v in env.items():  # encode_env, inlined: a save runs this once per record put
            if v.__class__ is str:
                token = enc.get(v)
                out[k] = token if token is not None else self.encrypt(v)
            else:
                out[k] = self.encode_value(v)
        doc["env"] = out
        return doc


_SPEC_FIELDS: list[tuple[str, ...]] = []
_SPEC_FIELD_COUNT = [-1]


def _spec_fields() -> tuple[str, ...]:
    if not _SPEC_FIELDS:
        import dataclasses

        from functions_tui.registry.models import FunctionSpec

        _SPEC_FIELDS.append(tuple(f.name for f in dataclasses.fields(FunctionSpec)))
        _SPEC_FIELD_COUNT[0] = len(_SPEC_FIELDS[0])
    return _SPEC_FIELDS[0]


def _is_hash(value: Any) -> bool:
    return type(value) is str and len(value) == _HASH_LEN and value[:2] in (KEYED, LEGACY_KEYED)


# --- which keys hash ---------------------------------------------------------------------------------

_KEYS: dict[str, RegistryKeys] = {}
_KEYS_LOCK = threading.Lock()
_ACTIVE: list[RegistryKeys] = []
_LISTENERS: list[Callable[[RegistryKeys], None]] = []


def keys_for(registry: Path | str) -> RegistryKeys:
    """The one RegistryKeys of the registry file at ``registry`` (or a kept copy of it) in
    this process."""
    path = Path(os.path.abspath(os.fspath(registry)))
    name = str(key_path(path))
    with _KEYS_LOCK:
        keys = _KEYS.get(name)
        if keys is None:
            keys = _KEYS[name] = RegistryKeys(path)
        return keys


def forget_keys() -> None:
    """Drop every key this process has read (tests: a key file deleted or replaced on disk is
    then read again, as a new process would)."""
    with _KEYS_LOCK:
        _KEYS.clear()
    _ACTIVE.clear()


def activate(keys: RegistryKeys) -> None:
    """Make ``keys`` the ones registry.fingerprint.hash_value uses (the registry this process
    works with); the engine's hash memo is emptied when they change."""
    if _ACTIVE and _ACTIVE[0] is keys:
        return
    _ACTIVE[:] = [keys]
    for listener in list(_LISTENERS):
        listener(keys)


def active() -> RegistryKeys:
    if not _ACTIVE:
        activate(RegistryKeys(None))
    return _ACTIVE[0]


def on_activate(listener: Callable[[RegistryKeys], None]) -> None:
    _LISTENERS.append(listener)


def legacy_hash(value: Any) -> str:
    """The unsalted hash older versions stored (``h:`` + 16 hex of sha256): for reading them only."""
    return LEGACY + hashlib.sha256(str(value).encode()).hexdigest()[:16]


def canonical_hash(value: Any, keys: RegistryKeys | None = None) -> Any:
    """A hash as the registry compares it: an old unsalted one (``h:``) becomes its keyed form
    (``l:``); anything else is returned as it is."""
    if value.__class__ is str and value.startswith(LEGACY) and len(value) == _HASH_LEN:
        return (keys or active()).legacy_keyed(value)
    return value


# --- upgrading a registry (schema 2 to 3) -----------------------------------------------------------

def _is_legacy(value: Any) -> bool:
    return value.__class__ is str and len(value) == _HASH_LEN and value.startswith(LEGACY)


def _legacy_env(env: Any, keys: RegistryKeys, plain: Mapping[str, Any] | None = None) -> Any:
    """An env of hashes with every old unsalted hash made keyed: ``k:`` when the plain value
    (``plain``, by key) is known and matches, else ``l:``."""
    if type(env) is not dict:
        return env
    out = {}
    for k, v in env.items():
        if _is_legacy(v):
            known = plain.get(k) if plain is not None else None
            if known is not None and legacy_hash(known) == v:
                v = keys.hash(str(known))
            else:
                v = keys.legacy_keyed(v)
        out[k] = v
    return out


def _secret_path(path: list) -> bool:
    return len(path) == 3 and path[0] == "spec" and path[1] == "env"


def _hash_env_path(path: list) -> bool:
    """A path to one env hash: a base's or the declaration snapshot's."""
    n = len(path)
    return ((n == 5 and path[0] == "components" and path[2] == "base" and path[3] == "env")
            or (n == 4 and path[0] == "spec" and path[1] == "declared" and path[2] == "env"))


def scrub_value(path: list, value: Any, keys: RegistryKeys, *, secret: Callable[[Any], Any]) -> Any:
    """``value`` found at ``path`` of a stored record, with each env value replaced by
    ``secret(value)`` and each old unsalted hash made keyed. A new object where anything
    changed; ``value`` itself otherwise."""
    if _secret_path(path):
        return secret(value)
    if _hash_env_path(path):
        return keys.legacy_keyed(value) if _is_legacy(value) else value
    if type(value) is not dict or len(path) >= 5:
        return value
    out = None
    for k, v in value.items():
        new = scrub_value(path + [k], v, keys, secret=secret)
        if new is not v:
            if out is None:
                out = dict(value)
            out[k] = new
    return out if out is not None else value


def history_secret(keys: RegistryKeys) -> Callable[[Any], Any]:
    """What an env value in history becomes: the keyed digest of its stored form (marks stay)."""
    def secret(value: Any) -> Any:
        if value.__class__ is str and value.startswith(MARK) and len(value) == 17:
            return value
        return keys.mark(value if value.__class__ is str else str(value))
    return secret


def scrub_ops(ops: list, keys: RegistryKeys) -> list:
    """History undo ops with no env value in them (see registry.history)."""
    secret = history_secret(keys)
    out = ops
    for i, op in enumerate(ops):
        if len(op) < 2 or type(op[0]) is not list:
            continue
        new = scrub_value(op[0], op[1], keys, secret=secret)
        if new is not op[1]:
            if out is ops:
                out = list(ops)
            out[i] = [op[0], new]
    return out


def scrub_doc(doc: Any, keys: RegistryKeys) -> Any:
    """A stored record (a deleted one's ``before``) with no env value in it."""
    return scrub_value([], doc, keys, secret=history_secret(keys))


def upgrade_tables(tables: dict[str, Any], keys: RegistryKeys) -> dict[str, Any]:
    """Schema 2 to 3 (registry.migrations): env values encrypted, old unsalted hashes made
    keyed, history scrubbed of values. In place on freshly parsed tables; returns them."""
    functions = tables.get("functions")
    if type(functions) is dict:
        for doc in functions.values():
            spec = doc.get("spec") if type(doc) is dict else None
            if type(spec) is not dict:
                continue
            env = spec.get("env")
            plain = dict(env) if type(env) is dict else {}
            if plain:
                spec["env"] = {k: v if (type(v) is str and v.startswith((ENC_PREFIX, REF_PREFIX)))
                               else keys.encrypt(str(v)) for k, v in plain.items()}
            declared = spec.get("declared")
            if type(declared) is dict and type(declared.get("env")) is dict:
                declared["env"] = _legacy_env(declared["env"], keys, plain)
            components = doc.get("components")
            if type(components) is dict:
                for comp in components.values():
                    if type(comp) is dict and type(comp.get("base")) is dict:
                        base = comp["base"]
                        if type(base.get("env")) is dict:
                            # Never from the spec's values: a docker base is its label's hashes,
                            # which stay unsalted until redeployed (see canonical_hash).
                            comp["base"] = {**base, "env": _legacy_env(base["env"], keys)}
    history = tables.get("history")
    if type(history) is dict:
        for entry in history.values():
            if type(entry) is not dict:
                continue
            if type(entry.get("undo")) is list:
                entry["undo"] = scrub_ops(entry["undo"], keys)
            for side in ("before", "after"):
                if type(entry.get(side)) is dict:
                    entry[side] = scrub_doc(entry[side], keys)
    return tables


def holds_secrets(tables: Mapping[str, Any]) -> bool:
    """True when a (schema < 3) file has anything to hide: an env value, an env hash, history."""
    functions = tables.get("functions")
    if type(functions) is dict:
        for doc in functions.values():
            spec = doc.get("spec") if type(doc) is dict else None
            if type(spec) is dict and (spec.get("env") or (spec.get("declared") or {}).get("env")):
                return True
            for comp in ((doc.get("components") or {}) if type(doc) is dict else {}).values():
                if type(comp) is dict and type(comp.get("base")) is dict and comp["base"].get("env"):
                    return True
    history = tables.get("history")
    return type(history) is dict and bool(history)


def old_copies(registry: Path) -> Iterable[Path]:
    """Every kept copy of the registry file: its generations, an old ``.bak``, files kept aside."""
    registry = Path(registry)
    folder = registry.parent
    seen = []
    for pattern in (f"{registry.name}.bak", f"{registry.name}.corrupt-*"):
        seen.extend(sorted(folder.glob(pattern)))
    for sub in ("generations", f"{registry.name}.generations"):
        place = folder / sub
        if place.is_dir():
            seen.extend(sorted(p for p in place.iterdir() if p.suffix == ".json" and p.is_file()))
    return seen


def rewrite_old_copies(store: Any) -> list[Path]:
    """After a registry was upgraded to ENCRYPTED_SCHEMA: rewrite every kept copy of it from
    before (generations, an old ``.bak``, files kept aside) that still holds env values in
    clear, in the current form (migrated with the registry's keys, schema and key id in its
    meta); a restore of one then brings back no secret in clear. A copy that cannot be read
    is left as it is. Returns the files rewritten."""
    from functions_tui.registry import layout
    from functions_tui.registry.migrations import migrate
    from functions_tui.registry.storage import RegistryStorage, read_file

    done = []
    for file in old_copies(store.path):
        try:
            tables = read_file(file)
            if tables is None:
                continue
            schema = layout.file_schema(tables, file)
            if schema >= ENCRYPTED_SCHEMA or not holds_secrets(tables):
                continue
            tables = migrate(tables, schema, file, store._migrations, store.schema_version)
            meta = next(iter(tables[layout.META].values()))
            meta["schema"] = store.schema_version
            meta.update(store.keys.meta())
            RegistryStorage(file, backup=False).write(tables)
        except (RegistryError, OSError, ValueError, TypeError, KeyError, StopIteration):
            continue
        done.append(file)
    return done
