from tclbridge.cli import entry

entry()
