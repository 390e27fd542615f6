"""The Tcl command layer: value conversion, tokens, error mapping."""
