"""tcllib's mime package as Python: model, parser, generator, layout (tcllib's
way of writing MIME), transfer encodings, addresses, dates."""

from tclbridge.mime.address import parse_address
from tclbridge.mime.dates import now_proper, parse_datetime
from tclbridge.mime.generator import build_message, iter_message, iter_text
from tclbridge.mime.initialize import new_part
from tclbridge.mime.layout import TCLLIB, TcllibLayout
from tclbridge.mime.model import Part, validate_header_value
from tclbridge.mime.transfer_encodings import unique_id

__all__ = [
    "TCLLIB",
    "Part",
    "TcllibLayout",
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
