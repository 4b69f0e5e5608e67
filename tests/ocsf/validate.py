"""Validate OCSF Compliance Finding events, one JSON object per line on standard input, with
py-ocsf-models (pinned in scripts/requirements.txt): each line must be a valid
ComplianceFinding of the pinned OCSF version, carry no key the schema does not know (apart
from `cloud`, the cloud profile's object), and use the class, control and status values
vpce-guard promises. Prints the number of valid events; exits 1 on the first invalid one.
"""

import json
import sys
import typing

from pydantic import BaseModel, ValidationError
from py_ocsf_models import OCSF_VERSION
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding

# Keys of the OCSF 1.5 schema the models leave out: the cloud profile's object, and the
# compliance object's status caption.
KNOWN_EXTRAS = {("", "cloud"), ("compliance", "status")}


def model_of(annotation):
    """The pydantic model inside Optional[...] / list[...], if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = model_of(arg)
        if found is not None:
            return found
    return None


def unknown_keys(model, value, path=""):
    """Keys of `value` the model (recursively) does not declare."""
    out = []
    if isinstance(value, list):
        for item in value:
            out += unknown_keys(model, item, path)
        return out
    if not isinstance(value, dict):
        return out
    for key, sub in value.items():
        field = model.model_fields.get(key)
        if field is None:
            if (path, key) not in KNOWN_EXTRAS and path != "unmapped":
                out.append(f"{path}.{key}" if path else key)
            continue
        inner = model_of(field.annotation)
        if inner is not None:
            out += unknown_keys(inner, sub, key if not path else f"{path}.{key}")
    return out


def main():
    n = 0
    for number, line in enumerate(sys.stdin, 1):
        line = line.strip()
        if not line:
            continue
        obj = json.loads(line)
        try:
            finding = ComplianceFinding.model_validate(obj)
        except ValidationError as e:
            print(f"line {number}: not an OCSF Compliance Finding: {e}", file=sys.stderr)
            return 1
        problems = [f"unknown key {k}" for k in unknown_keys(ComplianceFinding, obj)]
        if finding.class_uid != 2003 or finding.type_uid != 200301:
            problems.append(f"class {finding.class_uid}, type {finding.type_uid}")
        if finding.metadata.version != OCSF_VERSION:
            problems.append(f"OCSF version {finding.metadata.version}, expected {OCSF_VERSION}")
        if not finding.compliance.control:
            problems.append("no compliance.control")
        if finding.compliance.status_id not in (1, 2, 3):
            problems.append(f"compliance.status_id {finding.compliance.status_id}")
        if not finding.resources or not finding.resources[0].uid or not finding.resources[0].name:
            problems.append("no resource uid and name")
        if problems:
            print(f"line {number}: " + "; ".join(problems), file=sys.stderr)
            return 1
        n += 1
    print(f"{n} events valid against OCSF {OCSF_VERSION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
