"""Host and port as written on a command line, in a policy file or in the
environment: "host", "host:port", "[v6]" or "[v6]:port"."""

from __future__ import annotations


def parse_host_port(text: str, default_port: int = 25) -> tuple[str, int]:
    """"host", "host:port", "[v6]" or "[v6]:port" -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or "]" in port:
        return text.strip("[]"), default_port
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"bad port in {text!r}") from None
    if not 0 < number < 65536:
        raise ValueError(f"bad port in {text!r}: not between 1 and 65535")
    return host.strip("[]"), number


def format_host_port(address: tuple[str, int | str]) -> str:
    """(host, port) as parse_host_port reads it back: "[v6]:port" for IPv6."""
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
