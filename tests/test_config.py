"""BridgeConfig(...) is a plain value: building one reads no file and no
environment variable. BridgeConfig.from_env(...) is the one place that
reads them (the site policy file too), with today's errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tclbridge.config import BridgeConfig, ConfigError, process_config
from tclbridge.site_policy import POLICY_ENV, PolicyError

# Files opened while `_watching` is set (an audit hook cannot be removed, so
# it stays installed and idle).
_opened: list[str] = []
_watching: list[bool] = []


def _audit(event: str, args: tuple) -> None:
    if _watching and event == "open" and isinstance(args[0], (str, bytes)):
        _opened.append(str(args[0]))


sys.addaudithook(_audit)


def opened_while(build) -> tuple[object, list[str]]:
    _opened.clear()
    _watching.append(True)
    try:
        made = build()
    finally:
        _watching.clear()
    return made, list(_opened)


@pytest.fixture
def policy_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text('relay.server = "relay.example:2525"\n')
    monkeypatch.setenv(POLICY_ENV, str(path))
    return path


def test_building_reads_no_file(policy_file: Path) -> None:
    config, opened = opened_while(BridgeConfig)
    assert opened == []
    assert config.policy is None  # type: ignore[attr-defined]
    config, opened = opened_while(BridgeConfig.from_env)
    assert str(policy_file) in opened
    assert config.policy.relay == ("relay.example", 2525)  # type: ignore[attr-defined]


def test_a_missing_policy_file_fails_only_from_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "gone.toml"
    monkeypatch.setenv(POLICY_ENV, str(missing))
    assert BridgeConfig().policy is None
    with pytest.raises(PolicyError) as caught:
        BridgeConfig.from_env()
    assert str(caught.value) == f"policy {missing}: No such file or directory"
    with pytest.raises(PolicyError):
        process_config()  # Interp() and sendmessage() without a config


def test_environment_variables_are_read_by_from_env_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(POLICY_ENV, raising=False)
    monkeypatch.setenv("TCLBRIDGE_TIMEOUT_SCALE", "x")
    monkeypatch.setenv("TCLBRIDGE_CAFILE", "/ca.pem")
    monkeypatch.setenv("TCLBRIDGE_TLS_VERIFY", "0")
    monkeypatch.setenv("TCLBRIDGE_ALLOW_PLAINTEXT_AUTH", "1")
    plain = BridgeConfig()
    assert (plain.timeout_scale, plain.cafiles, plain.tls_verify, plain.allow_plaintext_auth,
            plain.policy) == (1.0, [], True, False, None)
    with pytest.raises(ConfigError, match="TCLBRIDGE_TIMEOUT_SCALE must be a number greater "
                                          "than 0, not 'x'"):
        BridgeConfig.from_env()
    # A setting given is not read from the environment (its variable may be bad).
    found = BridgeConfig.from_env(timeout_scale=0.5)
    assert (found.timeout_scale, found.cafiles, found.tls_verify,
            found.allow_plaintext_auth) == (0.5, ["/ca.pem"], False, True)


def test_a_policy_given_is_not_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(POLICY_ENV, str(tmp_path / "gone.toml"))
    assert BridgeConfig.from_env(policy=None, timeout_scale=1.0).policy is None
