"""The PACS configuration (``corridor.pacs.config``): sources, precedence and refusals.

Unit tests, no server.  Each refusal is asserted on its message (the setting and its source)
and on the password never appearing in it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from corridor.errors import ExitStatus, InputError
from corridor.pacs.config import PacsConfig, is_loopback, load_pacs_config
from corridor.pacs.errors import PacsConfigError

SECRET = "s3cret-Pa55word"


def _secret_file(folder: Path, text: str = SECRET + "\n", mode: int = 0o600) -> Path:
    path = folder / "pacs.password"
    path.write_text(text)
    path.chmod(mode)
    return path


def _config_file(folder: Path, body: str) -> Path:
    path = folder / "corridor.yaml"
    path.write_text(body)
    return path


def _refused(url: str | None, config_file: Path | None, environ: dict[str, str],
             match: str) -> PacsConfigError:
    with pytest.raises(PacsConfigError, match=match) as refused:
        load_pacs_config(url, config_file, environ)
    assert SECRET not in str(refused.value)
    assert SECRET not in repr(refused.value)
    return refused.value


def test_a_config_file_with_a_password_file(tmp_path: Path) -> None:
    _secret_file(tmp_path)
    config = load_pacs_config(None, _config_file(tmp_path, (
        "pacs:\n  url: https://pacs.example.org/dicom-web/\n  username: corridor\n"
        "  password_file: pacs.password\n  timeout_s: 12.5\n")), {})
    assert config.url == "https://pacs.example.org/dicom-web"
    assert config.username == "corridor"
    assert config.password is not None
    assert config.password.get_secret_value() == SECRET  # one trailing line end removed
    assert (config.verify_tls, config.ca_bundle, config.timeout_s) == (True, None, 12.5)
    assert config.host == "pacs.example.org"


def test_the_password_never_shows_in_repr_or_str(tmp_path: Path) -> None:
    config = load_pacs_config("https://pacs.example.org/dicom-web", None, {
        "CORRIDOR_PACS_USERNAME": "corridor", "CORRIDOR_PACS_PASSWORD": SECRET})
    for text in (repr(config), str(config), repr(config.password), str(config.password),
                 config.model_dump_json()):
        assert SECRET not in text


def test_pacs_config_built_directly_is_checked_and_hides_its_input() -> None:
    with pytest.raises(ValidationError) as refused:
        PacsConfig(url="http://pacs.example.org", username="corridor",
                   password=SecretStr(SECRET))
    assert "credentials would be sent in clear over http" in str(refused.value)
    assert SECRET not in str(refused.value)
    with pytest.raises(ValidationError) as wrong_type:
        PacsConfig(url="https://pacs.example.org", timeout_s=SECRET)  # type: ignore[arg-type]
    assert SECRET not in str(wrong_type.value)


def test_precedence_argument_over_environment_over_file(tmp_path: Path) -> None:
    _secret_file(tmp_path)
    other = tmp_path / "other.password"
    other.write_text("from-env-file")
    other.chmod(0o600)
    file = _config_file(tmp_path, ("pacs:\n  url: https://file.example.org\n  username: "
                                   "file-user\n  password_file: pacs.password\n"))
    assert load_pacs_config(None, file, {}).url == "https://file.example.org"
    environ = {"CORRIDOR_PACS_URL": "https://env.example.org", "CORRIDOR_PACS_USERNAME":
               "env-user", "CORRIDOR_PACS_PASSWORD_FILE": str(other)}
    from_env = load_pacs_config(None, file, environ)
    assert (from_env.url, from_env.username) == ("https://env.example.org", "env-user")
    assert from_env.password == SecretStr("from-env-file")
    from_argument = load_pacs_config("https://arg.example.org", file,
                                     {**environ, "CORRIDOR_PACS_URL": ""})
    assert from_argument.url == "https://arg.example.org"
    assert load_pacs_config("https://arg.example.org", file, environ).url == \
        "https://arg.example.org"
    with_password = load_pacs_config(None, file, {"CORRIDOR_PACS_PASSWORD": "from-env"})
    assert with_password.password == SecretStr("from-env")


def test_no_url_anywhere_is_refused() -> None:
    refused = _refused(None, None, {}, "url: none given; expected --pacs URL, "
                       "CORRIDOR_PACS_URL or url")
    assert refused.exit_status == ExitStatus.INPUT_ERROR
    assert isinstance(refused, InputError)


def test_a_password_inline_in_the_config_file_is_refused(tmp_path: Path) -> None:
    file = _config_file(tmp_path, f"pacs:\n  url: https://pacs.example.org\n  username: u\n"
                                  f"  password: {SECRET}\n")
    refused = _refused(None, file, {}, r"pacs\.password: a password written in the config "
                       "file; expected the password in a file of its own")
    assert (refused.field, refused.where) == ("pacs.password", str(file))


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_password_file_others_may_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = _secret_file(tmp_path, mode=mode)
    _refused("https://pacs.example.org", None, {
        "CORRIDOR_PACS_USERNAME": "u", "CORRIDOR_PACS_PASSWORD_FILE": str(path)},
        f"CORRIDOR_PACS_PASSWORD_FILE: password_file: .* has mode {mode:04o}, readable by "
        "group or others; expected mode 0600 or stricter")


def test_a_missing_password_file_is_refused(tmp_path: Path) -> None:
    file = _config_file(tmp_path, "pacs:\n  url: https://pacs.example.org\n  username: u\n"
                                  "  password_file: absent\n")
    _refused(None, file, {}, "password_file: .*absent cannot be read")


@pytest.mark.parametrize("url", ["http://pacs.example.org/dicom-web", "http://10.0.0.7:8042",
                                 "http://[2001:db8::1]/dicom-web"])
def test_credentials_over_plain_http_beyond_loopback_are_refused(url: str) -> None:
    refused = _refused(url, None, {"CORRIDOR_PACS_USERNAME": "u",
                                   "CORRIDOR_PACS_PASSWORD": SECRET},
                       "credentials would be sent in clear over http")
    assert refused.where == "--pacs"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8042/dicom-web", "http://127.9.8.7",
                                 "http://localhost:8042", "http://[::1]:8042/dicom-web"])
def test_credentials_over_plain_http_to_loopback_are_accepted(url: str) -> None:
    config = load_pacs_config(url, None, {"CORRIDOR_PACS_USERNAME": "orthanc",
                                          "CORRIDOR_PACS_PASSWORD": "orthanc"})
    assert config.loopback


def test_plain_http_without_credentials_is_accepted() -> None:
    assert load_pacs_config("http://pacs.example.org", None, {}).username is None


def test_the_default_orthanc_credentials_beyond_loopback_are_refused() -> None:
    _refused("https://pacs.example.org", None, {"CORRIDOR_PACS_USERNAME": "orthanc",
                                                "CORRIDOR_PACS_PASSWORD": "orthanc"},
             "CORRIDOR_PACS_PASSWORD: password: Orthanc's default credentials, for "
             "pacs.example.org")


def test_an_empty_password_beyond_loopback_is_refused(tmp_path: Path) -> None:
    path = _secret_file(tmp_path, text="")
    _refused("https://pacs.example.org", None, {"CORRIDOR_PACS_USERNAME": "u",
                                                "CORRIDOR_PACS_PASSWORD_FILE": str(path)},
             "password: it is empty")
    assert load_pacs_config("http://127.0.0.1:8042", None, {
        "CORRIDOR_PACS_USERNAME": "u", "CORRIDOR_PACS_PASSWORD_FILE": str(path)}).password \
        == SecretStr("")


@pytest.mark.parametrize("url", ["ftp://pacs.example.org", "pacs.example.org/dicom-web",
                                 "file:///etc/passwd", "https:///dicom-web"])
def test_a_url_that_is_not_http_is_refused(url: str) -> None:
    _refused(url, None, {}, "url: (scheme|it has no host)")


def test_credentials_in_the_url_are_refused_and_not_quoted() -> None:
    refused = _refused(f"https://u:{SECRET}@pacs.example.org", None, {},
                       r"url: it holds credentials \(user:password@\)")
    assert "u:" not in str(refused)


def test_a_username_without_a_password_and_the_reverse_are_refused() -> None:
    _refused("https://pacs.example.org", None, {"CORRIDOR_PACS_USERNAME": "u"},
             "password: a username is set but no password")
    _refused("https://pacs.example.org", None, {"CORRIDOR_PACS_PASSWORD": SECRET},
             "username: a password is set but no username")


def test_both_password_variables_are_refused(tmp_path: Path) -> None:
    _refused("https://pacs.example.org", None, {
        "CORRIDOR_PACS_USERNAME": "u", "CORRIDOR_PACS_PASSWORD": SECRET,
        "CORRIDOR_PACS_PASSWORD_FILE": str(_secret_file(tmp_path))},
        "both CORRIDOR_PACS_PASSWORD and CORRIDOR_PACS_PASSWORD_FILE are set")


def test_verify_tls_off_only_when_explicit_and_then_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    file = _config_file(tmp_path, "pacs:\n  url: https://pacs.example.org\n"
                                  "  verify_tls: false\n")
    with caplog.at_level(logging.WARNING, logger="corridor.pacs.config"):
        config = load_pacs_config(None, file, {})
    assert config.verify_tls is False
    assert "TLS certificate verification of the PACS pacs.example.org is off" in caplog.text
    for text in ('"false"', "0", "''", "[]"):  # a string, number or list is not a boolean
        _config_file(tmp_path, f"pacs:\n  url: https://pacs.example.org\n  verify_tls: {text}\n")
        _refused(None, file, {}, r"pacs\.verify_tls: a (str|int|list); expected true or "
                 "false")


def test_a_ca_bundle_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    file = _config_file(tmp_path, "pacs:\n  url: https://pacs.example.org\n"
                                  "  ca_bundle: ca.pem\n")
    assert load_pacs_config(None, file, {}).ca_bundle == tmp_path / "ca.pem"
    _config_file(tmp_path, "pacs:\n  url: https://pacs.example.org\n  ca_bundle: ca.pem\n"
                           "  verify_tls: false\n")
    _refused(None, file, {}, "ca_bundle: set while verify_tls is false")
    _config_file(tmp_path, "pacs:\n  url: https://pacs.example.org\n  ca_bundle: none.pem\n")
    _refused(None, file, {}, "ca_bundle: .*none.pem is not a file")


@pytest.mark.parametrize(("body", "match"), [
    ("pacs:\n  url: https://pacs.example.org\n  port: 4242\n",
     r"pacs\.port: not a setting of the pacs: section; expected one of url, username"),
    ("other: 1\n", "pacs: no pacs: mapping in the file"),
    ("pacs: [1, 2]\n", "pacs: no pacs: mapping in the file"),
    ("pacs:\n  url: [https://pacs.example.org]\n", r"pacs\.url: a list; expected a string"),
    ("pacs:\n  url: https://pacs.example.org\n  timeout_s: 0\n",
     r"pacs\.timeout_s: 0; expected a number of seconds > 0"),
    ("pacs:\n  url: https://pacs.example.org\n  timeout_s: true\n", r"pacs\.timeout_s: True"),
    ("pacs: {url: [\n", "config file: not valid YAML at line 2"),
])
def test_a_malformed_config_file_is_refused(tmp_path: Path, body: str, match: str) -> None:
    _refused(None, _config_file(tmp_path, body), {}, match)


def test_a_missing_config_file_is_refused(tmp_path: Path) -> None:
    _refused(None, tmp_path / "absent.yaml", {}, "config file: cannot be read")


@pytest.mark.parametrize(("host", "loopback"), [
    ("localhost", True), ("LOCALHOST", True), ("127.0.0.1", True), ("127.255.0.9", True),
    ("::1", True), ("128.0.0.1", False), ("10.0.0.1", False), ("::2", False),
    ("pacs.example.org", False), ("localhost.example.org", False)])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
