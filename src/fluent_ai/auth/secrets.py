"""Secrets at rest: one symmetric key, and provider credentials encrypted with it.

The key lives in the OS keyring when the machine has one, otherwise in
``$FLUENT_AI_HOME/secret.key`` (created exclusively, mode 0600; a key file others can read
is refused). ``FLUENT_AI_SECRET_BACKEND`` = ``auto`` (default), ``keyring`` or ``file``
overrides the choice. In ``auto`` an existing key file wins, so data written on a machine
without a keyring stays readable after one is installed.

Encryption is Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``): authenticated, so
a damaged file or a wrong key is an error, never garbage. Everything here touches the disk
or the keyring: from async code call it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from fluent_ai.errors import ConfigurationError

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

__all__ = [
    "BACKEND_VARIABLE",
    "CredentialStore",
    "SecretBox",
    "SecretsError",
    "read_private",
    "stored_credentials",
    "write_private",
]

log = logging.getLogger("fluent_ai.auth.secrets")

#: Environment variable choosing where the key lives: auto, keyring or file.
BACKEND_VARIABLE: Final = "FLUENT_AI_SECRET_BACKEND"
KEYRING_SERVICE: Final = "fluent-ai"
KEYRING_USERNAME: Final = "secret-key"
KEY_FILE: Final = "secret.key"
CREDENTIALS_FILE: Final = "credentials.enc"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_MAX_VALUE = 64 * 1024


class SecretsError(ConfigurationError):
    """The key or an encrypted file cannot be used; the message says how to fix it."""


def _home(home: Path | None) -> Path:
    from fluent_ai.config import default_home

    return home if home is not None else default_home()


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically with ``data``, readable by the owner only (0600).

    A temporary file in the same directory is written, synced and renamed over ``path``,
    so a crash leaves the old content or the new one, never half of either.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read_private(path: Path, *, what: str) -> bytes | None:
    """The bytes of ``path`` (``None`` if absent); refused if group or others may read it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode & 0o777
        if os.name == "posix" and mode & 0o077:
            raise SecretsError(
                f"{what} {path} is readable by other users (mode {mode:04o}); "
                f"restrict it with: chmod 600 {path}"
            )
        return handle.read()


def _backend_choice() -> str:
    choice = os.environ.get(BACKEND_VARIABLE, "auto").strip().lower() or "auto"
    if choice not in ("auto", "keyring", "file"):
        raise SecretsError(f"{BACKEND_VARIABLE} must be auto, keyring or file, got {choice!r}")
    return choice


def _usable_keyring() -> Any | None:
    """The OS keyring backend, or ``None`` when there is none worth the name."""
    import keyring
    from keyring.backends import chainer, fail, null

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring | null.Keyring):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    return backend


class SecretBox:
    """Encrypts and decrypts with the installation's key; the key never leaves it."""

    __slots__ = ("_fernet", "source")

    def __init__(self, key: bytes, *, source: str = "a key given in code") -> None:
        from cryptography.fernet import Fernet

        try:
            self._fernet: Fernet = Fernet(key)
        except (ValueError, TypeError):
            raise SecretsError(
                f"the secret key from {source} is not a valid key (32 url-safe base64 bytes)"
            ) from None
        #: Where the key came from ("the OS keyring" or the key file's path), for messages.
        self.source = source

    def __repr__(self) -> str:
        return f"SecretBox(key from {self.source})"

    @classmethod
    def open(cls, home: Path | None = None) -> SecretBox:
        """The box with this installation's key, creating the key on first use (blocking)."""
        home = _home(home)
        choice = _backend_choice()
        key_file = home / KEY_FILE
        if choice == "file" or (choice == "auto" and key_file.exists()):
            return cls._from_file(key_file)
        backend = _usable_keyring()
        if backend is None:
            if choice == "keyring":
                raise SecretsError(
                    f"{BACKEND_VARIABLE}=keyring but this machine has no usable OS keyring; "
                    f"unset it (or set it to file) to keep the key in {key_file}"
                )
            return cls._from_file(key_file)
        return cls._from_keyring(backend)

    @classmethod
    def _from_keyring(cls, backend: Any) -> SecretBox:
        from cryptography.fernet import Fernet
        from keyring.errors import KeyringError

        try:
            stored = backend.get_password(KEYRING_SERVICE, KEYRING_USERNAME)
            if stored is None:
                stored = Fernet.generate_key().decode("ascii")
                backend.set_password(KEYRING_SERVICE, KEYRING_USERNAME, stored)
                log.info("created the secret key in the OS keyring")
        except KeyringError as exc:
            raise SecretsError(
                f"the OS keyring failed ({type(exc).__name__}); unlock it, or set "
                f"{BACKEND_VARIABLE}=file to keep the key in a file instead"
            ) from None
        return cls(stored.encode("ascii"), source="the OS keyring")

    @classmethod
    def _from_file(cls, path: Path) -> SecretBox:
        from cryptography.fernet import Fernet

        key = read_private(path, what="the key file")
        if key is None:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            key = Fernet.generate_key()
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process created it first: use theirs
                return cls._from_file(path)
            with os.fdopen(fd, "wb") as handle:
                handle.write(key)
                handle.flush()
                os.fsync(handle.fileno())
            log.info("created the secret key file %s", path)
        return cls(key.strip(), source=str(path))

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def decrypt(self, ciphertext: bytes, *, what: str) -> bytes:
        """The plaintext; a wrong key or damaged data is a :class:`SecretsError`."""
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(ciphertext)
        except InvalidToken:
            raise SecretsError(
                f"{what} cannot be decrypted with the key from {self.source}: it was "
                "written with another key or is damaged; restore that key, or delete the "
                "file and store its secrets again"
            ) from None


class CredentialStore:
    """Provider credentials (``OPENAI_API_KEY`` …) encrypted in ``credentials.enc``.

    Blocking (disk, keyring): from async code use ``asyncio.to_thread``. The key is
    fetched only when an encrypted file must be read or written.
    """

    def __init__(self, home: Path | None = None, *, box: SecretBox | None = None) -> None:
        self.home = _home(home)
        self.path = self.home / CREDENTIALS_FILE
        self._box = box

    def __repr__(self) -> str:
        return f"CredentialStore({str(self.path)!r})"

    def box(self) -> SecretBox:
        if self._box is None:
            self._box = SecretBox.open(self.home)
        return self._box

    def load(self) -> dict[str, str]:
        """Every stored credential (empty, with nothing read, when there is no file)."""
        raw = read_private(self.path, what="the credentials file")
        if raw is None:
            return {}
        plain = self.box().decrypt(raw, what=f"the credentials file {self.path}")
        try:
            data = json.loads(plain)
            credentials = data["credentials"]
            if not isinstance(credentials, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in credentials.items()
            ):
                raise TypeError("credentials must map names to strings")
        except (ValueError, KeyError, TypeError):
            raise SecretsError(f"the credentials file {self.path} is damaged") from None
        return credentials

    def names(self) -> list[str]:
        return sorted(self.load())

    def get(self, name: str) -> str | None:
        return self.load().get(_check_name(name))

    def set(self, name: str, value: str) -> None:
        """Store ``value`` under ``name`` (an environment variable name), replacing it."""
        name = _check_name(name)
        if not isinstance(value, str) or not value or "\0" in value or len(value) > _MAX_VALUE:
            raise SecretsError(f"the value for {name} must be a non-empty string up to 64 KiB")
        credentials = self.load()
        credentials[name] = value
        self._save(credentials)

    def delete(self, name: str) -> bool:
        """Forget ``name``; ``False`` if it was not stored."""
        credentials = self.load()
        if credentials.pop(_check_name(name), None) is None:
            return False
        self._save(credentials)
        return True

    def _save(self, credentials: dict[str, str]) -> None:
        plain = json.dumps({"version": 1, "credentials": credentials}, sort_keys=True)
        write_private(self.path, self.box().encrypt(plain.encode("utf-8")))


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        # The rejected text is not repeated: it may be a secret pasted in the wrong place.
        raise SecretsError(
            "a credential name is an environment variable name such as OPENAI_API_KEY "
            "(letters, digits and _, not starting with a digit)"
        )
    return name


def stored_credentials(home: Path) -> dict[str, str]:
    """The credentials stored under ``home``; ``{}`` (no key fetched) without the file."""
    store = CredentialStore(home)
    if not store.path.exists():
        return {}
    return store.load()
