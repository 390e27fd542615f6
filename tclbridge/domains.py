"""Domain names as the bridge compares and sends them: UTS #46 mapping and
IDNA 2008 (the `idna` package), so that every spelling a resolver or relay
takes for the same name ("rivals\u3002example", full-width dots, upper case, a
trailing U+200B) becomes one ASCII form (A-labels, lower case).

`idna` is imported on first use only: a plain script with ASCII addresses and
no policy domain lists never loads it (start-up time).
"""

from __future__ import annotations

# Longer input is refused before any mapping: no valid name comes near it
# (253 octets once mapped), and the work stays bounded whatever is given.
MAX_INPUT = 1024
_SHOWN = 64  # characters of a refused name quoted in a reason


class DomainError(ValueError):
    """The name cannot be normalised; the message says why."""


def normalize(domain: str) -> str:
    """`domain` as A-labels in lower case, a trailing dot kept.

    Raises DomainError for what IDNA 2008 refuses: an empty label, a
    character no domain may hold (also "[" of an address literal, "_"), an
    invalid A-label, a name longer than 253 octets.
    """
    if len(domain) > MAX_INPUT:
        raise DomainError(f"longer than {MAX_INPUT} characters")
    import idna  # lazily: see the module docstring

    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as exc:  # also its InvalidCodepoint etc.
        raise DomainError(str(exc) or type(exc).__name__) from None


def matching_form(domain: str) -> str:
    """The normalised name without the trailing dot of the root (which
    names the same domain), for comparing."""
    return normalize(domain).removesuffix(".")


def shown(domain: str) -> str:
    """`domain` quoted in a reason: cut short when it is huge."""
    return domain if len(domain) <= _SHOWN else domain[:_SHOWN] + "..."
