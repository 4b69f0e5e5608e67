"""Validate a SARIF log (standard input) against the OASIS SARIF 2.1.0 JSON schema."""
import json
import pathlib
import sys

import jsonschema

schema = json.loads((pathlib.Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())
log = json.load(sys.stdin)
validator = jsonschema.validators.validator_for(schema)(schema)
errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
for e in errors:
    path = "/".join(str(p) for p in e.absolute_path)
    print(f"{path or '<root>'}: {e.message}")
if errors:
    sys.exit(1)
results = sum(len(run.get("results", [])) for run in log["runs"])
print(f"valid SARIF 2.1.0: {len(log['runs'])} run(s), {results} result(s)")
