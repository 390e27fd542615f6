"""What a Tcl mail script does under tcllib and under the bridge, compared.

Shared by ``tclbridge check`` (a user's script) and the compat suite
(``compat_suite/``, the project's own cases):

- `outcome`: what one run showed (exit code, output, the server's record) and
  a `Difference` between two runs;
- `run`: run a command against fresh recording servers, collect its `ObservedRun`;
- `masking`, `message`, `normalize`: the parts that change from run to run
  masked, each delivered message parsed into headers, MIME tree and bodies;
- `compat`: tcllib's outcome turned into the bridge's where docs/COMPAT.md
  says the bridge differs on purpose;
- `compare`: all of it together, differences in plain words.
"""
