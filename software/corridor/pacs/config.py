"""Where the PACS is and how to authenticate to it: the ``pacs:`` section of a config file, the
``CORRIDOR_PACS_*`` environment variables and the ``--pacs URL`` option, checked once.

Precedence, setting by setting: ``--pacs URL`` over ``CORRIDOR_PACS_URL`` over the file's
``url``; ``CORRIDOR_PACS_USERNAME`` over the file's ``username``; ``CORRIDOR_PACS_PASSWORD`` or
``CORRIDOR_PACS_PASSWORD_FILE`` (not both) over the file's ``password_file``.  An environment
variable set to the empty string counts as unset.  ``verify_tls``, ``ca_bundle`` and
``timeout_s`` come from the file only.

Refused, each with a :class:`~corridor.pacs.errors.PacsConfigError` naming the setting and where
it came from, never quoting the password:

- a password written in the config file (it belongs in a file of its own or the environment);
- a password file group or others may read (mode ``& 0o077``);
- a URL that is not ``http`` or ``https``, has no host, or holds credentials (``user:pw@``);
- credentials over plain ``http`` to a host that is not loopback (``127.0.0.0/8``, ``::1``,
  ``localhost``);
- Orthanc's default credentials ``orthanc``/``orthanc``, or an empty password, for a host that
  is not loopback;
- a username without a password or a password without a username;
- ``verify_tls`` that is not a YAML boolean (only an explicit ``false`` turns verification off,
  and then a warning is logged), or a ``ca_bundle`` with it off.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    ValidationError,
    model_validator,
)

from corridor.pacs.errors import PacsConfigError

__all__ = ["DEFAULT_TIMEOUT_S", "ENV_PASSWORD", "ENV_PASSWORD_FILE", "ENV_URL", "ENV_USERNAME",
           "FILE_KEYS", "PacsConfig", "is_loopback", "load_pacs_config"]

_log = logging.getLogger(__name__)

ENV_URL = "CORRIDOR_PACS_URL"
"""Environment variable: the DICOMweb root URL."""
ENV_USERNAME = "CORRIDOR_PACS_USERNAME"
"""Environment variable: the HTTP Basic username."""
ENV_PASSWORD = "CORRIDOR_PACS_PASSWORD"
"""Environment variable: the HTTP Basic password itself."""
ENV_PASSWORD_FILE = "CORRIDOR_PACS_PASSWORD_FILE"
"""Environment variable: a file holding the password (mode ``0o600`` or stricter)."""
DEFAULT_TIMEOUT_S = 30.0
"""Seconds a request may wait for the PACS to connect or to send more of its answer."""
FILE_KEYS = ("url", "username", "password_file", "verify_tls", "ca_bundle", "timeout_s")
"""The keys the config file's ``pacs:`` section may hold."""
_DEFAULT_CREDENTIALS = ("orthanc", "orthanc")
"""Orthanc's documented default user and password, refused beyond loopback."""
_PRIVATE_MASK = 0o077
"""Permission bits of group and others, none of which a password file may have."""
_ARGUMENT = "--pacs"
_PASSWORD_SOURCES = f"password_file in the config file, {ENV_PASSWORD} or {ENV_PASSWORD_FILE}"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a URL's host name) is this machine: ``localhost``, ``127.0.0.0/8`` or
    ``::1``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_of(url: str) -> str:
    """``host:port`` of ``url``, never its userinfo (``"?"`` when it has no host)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return host if port is None else f"{host}:{port}"


def _check(url: str, username: str | None, password: str | None, verify_tls: bool,
           ca_bundle: Path | None, where: Mapping[str, str]) -> None:
    """Refuse a combination of settings (see the module docstring); ``where`` names each
    setting's source."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise PacsConfigError("url", f"scheme {parts.scheme or 'none'!r}",
                              "an http:// or https:// URL", where=where["url"])
    if parts.username is not None or parts.password is not None:
        raise PacsConfigError("url", "it holds credentials (user:password@)",
                              f"the URL without them, and the username and password in their "
                              f"own settings ({_PASSWORD_SOURCES})", where=where["url"])
    if not parts.hostname:
        raise PacsConfigError("url", "it has no host", "http(s)://HOST[:PORT]/PATH",
                              where=where["url"])
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise PacsConfigError("url", "its port is not a number from 0 to 65535",
                              "http(s)://HOST[:PORT]/PATH", where=where["url"]) from None
    loopback = is_loopback(parts.hostname)
    if username is not None and password is None:
        raise PacsConfigError("password", "a username is set but no password",
                              f"a password with the username ({_PASSWORD_SOURCES})",
                              where=where["username"])
    if password is not None and username is None:
        raise PacsConfigError("username", "a password is set but no username",
                              f"a username with the password ({ENV_USERNAME} or username in "
                              "the config file)", where=where["password"])
    if username is not None and password is not None and not loopback:
        if parts.scheme != "https":
            raise PacsConfigError("url", f"credentials would be sent in clear over http to "
                                  f"{_host_of(url)}, which is not this machine",
                                  "an https:// URL (plain http only to a loopback host)",
                                  where=where["url"])
        if password == "":
            raise PacsConfigError("password", f"it is empty, for {_host_of(url)}",
                                  "a non-empty password (an empty one only for a loopback "
                                  "host)", where=where["password"])
        if (username, password) == _DEFAULT_CREDENTIALS:
            raise PacsConfigError("password", f"Orthanc's default credentials, for "
                                  f"{_host_of(url)}", "credentials of this installation (the "
                                  "defaults only for a loopback host)",
                                  where=where["password"])
    if ca_bundle is not None and not verify_tls:
        raise PacsConfigError("ca_bundle", "set while verify_tls is false",
                              "either a ca_bundle to verify the PACS with, or verify_tls: "
                              "false, not both", where=where["verify_tls"])


class PacsConfig(BaseModel):
    """How to reach the PACS, checked (see the module docstring); the password never shows in
    ``repr``, ``str`` or error messages.

    Attributes
    ----------
    url
        The DICOMweb root (``https://pacs.example/dicom-web``), without a trailing ``/``.
    username, password
        HTTP Basic credentials, both or neither.
    verify_tls
        Whether the PACS's TLS certificate is verified (``True`` unless set ``false``
        explicitly).
    ca_bundle
        A PEM file of the certificate authorities to verify it with, instead of the system's.
    timeout_s
        Seconds a request may wait to connect or for more of the answer (s, > 0).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    url: str
    username: str | None = None
    password: SecretStr | None = None
    verify_tls: StrictBool = True
    ca_bundle: Path | None = None
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _valid(self) -> PacsConfig:
        where = dict.fromkeys(("url", "username", "password", "verify_tls"), "PacsConfig")
        _check(self.url, self.username, self._secret(), self.verify_tls, self.ca_bundle, where)
        return self

    def _secret(self) -> str | None:
        return None if self.password is None else self.password.get_secret_value()

    @property
    def host(self) -> str:
        """The PACS as ``host:port``, for messages (never with credentials)."""
        return _host_of(self.url)

    @property
    def loopback(self) -> bool:
        """Whether the PACS is on this machine."""
        return is_loopback(urlsplit(self.url).hostname or "")


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    return value if value else None


def _read_file_section(config_file: Path) -> dict[str, Any]:
    """The ``pacs:`` section of ``config_file``, its keys and types checked."""
    where = str(config_file)
    try:
        text = config_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PacsConfigError("config file", f"cannot be read ({type(error).__name__})",
                              "a readable UTF-8 YAML file", where=where) from error
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise PacsConfigError("config file", f"not valid YAML{line}",
                              "a YAML mapping with a pacs: section", where=where) from None
    section = document.get("pacs") if isinstance(document, dict) else None
    if not isinstance(section, dict):
        raise PacsConfigError("pacs", "no pacs: mapping in the file",
                              f"a pacs: mapping with some of {', '.join(FILE_KEYS)}",
                              where=where)
    if "password" in section:
        raise PacsConfigError("pacs.password", "a password written in the config file",
                              f"the password in a file of its own (password_file, mode 600) "
                              f"or in {ENV_PASSWORD}", where=where)
    unknown = sorted(str(key) for key in section if key not in FILE_KEYS)
    if unknown:
        raise PacsConfigError(f"pacs.{unknown[0]}", "not a setting of the pacs: section",
                              f"one of {', '.join(FILE_KEYS)}", where=where)
    for key in ("url", "username", "password_file", "ca_bundle"):
        if key in section and not isinstance(section[key], str):
            raise PacsConfigError(f"pacs.{key}", f"a {type(section[key]).__name__}",
                                  "a string", where=where)
    if "verify_tls" in section and not isinstance(section["verify_tls"], bool):
        raise PacsConfigError("pacs.verify_tls", f"a {type(section['verify_tls']).__name__}",
                              "true or false (a YAML boolean)", where=where)
    if "timeout_s" in section:
        timeout = section["timeout_s"]
        if (isinstance(timeout, bool) or not isinstance(timeout, int | float)
                or not math.isfinite(timeout) or timeout <= 0):
            raise PacsConfigError("pacs.timeout_s", f"{timeout!r}",
                                  "a number of seconds > 0", where=where)
    return section


def _read_password_file(path: Path, where: str) -> str:
    """The password in ``path`` (one trailing line end removed), refusing a file others may
    read."""
    try:
        status = path.stat()
    except OSError as error:
        raise PacsConfigError("password_file", f"{path} cannot be read "
                              f"({type(error).__name__})", "an existing file holding the "
                              "password", where=where) from error
    if not stat.S_ISREG(status.st_mode):
        raise PacsConfigError("password_file", f"{path} is not a file",
                              "a file holding the password", where=where)
    mode = stat.S_IMODE(status.st_mode)
    if mode & _PRIVATE_MASK:
        raise PacsConfigError("password_file", f"{path} has mode {mode:04o}, readable by "
                              "group or others", "mode 0600 or stricter (chmod 600)",
                              where=where)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PacsConfigError("password_file", f"{path} cannot be read "
                              f"({type(error).__name__})", "a readable UTF-8 file",
                              where=where) from error
    return text.removesuffix("\n").removesuffix("\r")


def load_pacs_config(url: str | None, config_file: Path | None,
                     environ: Mapping[str, str]) -> PacsConfig:
    """The PACS configuration from ``--pacs URL``, a config file and the environment.

    Parameters
    ----------
    url
        The ``--pacs`` option, or ``None``: overrides the environment and the file.
    config_file
        A YAML file with a ``pacs:`` section (``url``, ``username``, ``password_file``,
        ``verify_tls``, ``ca_bundle``, ``timeout_s``), or ``None``.  Relative paths in it
        are relative to its folder.
    environ
        The environment (``os.environ``): ``CORRIDOR_PACS_URL``, ``CORRIDOR_PACS_USERNAME``,
        ``CORRIDOR_PACS_PASSWORD``, ``CORRIDOR_PACS_PASSWORD_FILE``.

    Returns
    -------
    PacsConfig
        The checked configuration.  A warning is logged when TLS verification is off.

    Raises
    ------
    PacsConfigError
        A setting is missing or refused (see the module docstring).
    """
    section: dict[str, Any] = {}
    base = Path.cwd()
    file_where = "config file"
    if config_file is not None:
        section = _read_file_section(config_file)
        base = config_file.parent
        file_where = str(config_file)
    where = dict.fromkeys(("url", "username", "password", "verify_tls", "ca_bundle",
                           "timeout_s"), file_where)

    chosen_url = section.get("url")
    if _env(environ, ENV_URL) is not None:
        chosen_url, where["url"] = _env(environ, ENV_URL), ENV_URL
    if url is not None:
        chosen_url, where["url"] = url, _ARGUMENT
    if not chosen_url:
        raise PacsConfigError("url", "none given", f"{_ARGUMENT} URL, {ENV_URL} or url in the "
                              "config file's pacs: section", where="PACS configuration")

    username = section.get("username")
    if _env(environ, ENV_USERNAME) is not None:
        username, where["username"] = _env(environ, ENV_USERNAME), ENV_USERNAME

    password: str | None = None
    env_password, env_file = _env(environ, ENV_PASSWORD), _env(environ, ENV_PASSWORD_FILE)
    if env_password is not None and env_file is not None:
        raise PacsConfigError("password", f"both {ENV_PASSWORD} and {ENV_PASSWORD_FILE} are "
                              "set", "one of them", where="environment")
    if env_password is not None:
        password, where["password"] = env_password, ENV_PASSWORD
    elif env_file is not None:
        where["password"] = ENV_PASSWORD_FILE
        password = _read_password_file(Path(env_file), ENV_PASSWORD_FILE)
    elif "password_file" in section:
        password = _read_password_file(base / section["password_file"], file_where)

    verify_tls: bool = section.get("verify_tls", True)
    ca_bundle = base / section["ca_bundle"] if "ca_bundle" in section else None
    if ca_bundle is not None and not ca_bundle.is_file():
        raise PacsConfigError("ca_bundle", f"{ca_bundle} is not a file",
                              "a PEM file of certificate authorities", where=file_where)
    _check(chosen_url, username, password, verify_tls, ca_bundle, where)
    try:
        config = PacsConfig(url=chosen_url.rstrip("/"), username=username,
                            password=None if password is None else SecretStr(password),
                            verify_tls=verify_tls, ca_bundle=ca_bundle,
                            timeout_s=section.get("timeout_s", DEFAULT_TIMEOUT_S))
    except ValidationError as error:  # checked above; a defect if it happens
        raise RuntimeError(f"PacsConfig refused settings load_pacs_config accepted: "
                           f"{error.error_count()} error(s)") from None
    if not config.verify_tls and urlsplit(config.url).scheme == "https":
        _log.warning("TLS certificate verification of the PACS %s is off (verify_tls: false "
                     "in %s)", config.host, file_where)
    return config
