"""tcllib's mime package as Python: model, generator, policy, codecs."""

from tclbridge.mime.address import parse_address
from tclbridge.mime.dates import now_proper, parse_datetime
from tclbridge.mime.generator import build_message, iter_message, iter_text
from tclbridge.mime.initialize import new_part
from tclbridge.mime.model import Part, validate_header_value
from tclbridge.mime.policy import TCLLIB, TcllibPolicy
from tclbridge.mime.transfer_encodings import unique_id

__all__ = [
    "TCLLIB",
    "Part",
    "TcllibPolicy",
    "build_message",
    "iter_message",
    "iter_text",
    "new_part",
    "now_proper",
    "parse_address",
    "parse_datetime",
    "unique_id",
    "validate_header_value",
]
