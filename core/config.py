"""Configuration: config/default.toml, then an optional file, then O2O_* environment variables."""
from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "config"
ENV_PREFIX = "O2O_"


def _parse_env_value(raw: str):
    """Environment values are TOML literals when they parse as one (numbers, booleans,
    lists), plain strings otherwise, so O2O_LOGIN_MAX_FAILURES=3 is an int."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def load_config(extra_file: str | os.PathLike | None = None, environ=None) -> dict:
    environ = os.environ if environ is None else environ
    values: dict = {}
    files = [CONFIG_DIR / "default.toml"]
    if extra_file:
        files.append(Path(extra_file))
    if environ.get(ENV_PREFIX + "CONFIG"):
        files.append(Path(environ[ENV_PREFIX + "CONFIG"]))
    for path in files:
        with open(path, "rb") as fh:
            values.update(tomllib.load(fh))
    for key, raw in environ.items():
        if key.startswith(ENV_PREFIX) and key != ENV_PREFIX + "CONFIG":
            values[key[len(ENV_PREFIX):]] = _parse_env_value(raw)
    return values


def instance_path() -> Path:
    return Path(os.environ.get(ENV_PREFIX + "INSTANCE_PATH", PROJECT_ROOT / "instance"))


def default_database_url() -> str:
    path = instance_path() / "o2o.sqlite3"
    return f"sqlite:///{path}"


def normalise_database_url(url: str) -> str:
    """Accept the plain postgresql:// form people paste and use psycopg 3 for it."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def ensure_secret_key(config: dict) -> None:
    """Generate a per-installation secret once and keep it in the instance folder; a
    shipped default key would let anyone forge sessions."""
    if config.get("SECRET_KEY"):
        return
    folder = instance_path()
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    config["SECRET_KEY"] = key_file.read_text().strip()
