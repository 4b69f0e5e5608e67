"""Runs `vpce-guard route-usage --athena` SQL on DuckDB, over CloudTrail records loaded into a
table of the shape of AWS's standard CloudTrail table in Athena (docs/ROUTE-USAGE.md has the
DDL), and prints the result as Athena writes its CSV (every value quoted, NULL empty).

    python athena_duckdb.py QUERY.sql TABLE RECORDS.json [RECORDS.json ...] > result.csv

The SQL is transpiled from Athena's dialect (Trino) to DuckDB's by sqlglot, as written: a
query that sqlglot cannot read, or that DuckDB rejects, fails the test that runs this.
"""

import csv
import json
import sys

import duckdb
import sqlglot

STRUCT_IDENTITY = (
    "STRUCT(type VARCHAR, principalid VARCHAR, arn VARCHAR, accountid VARCHAR, invokedby VARCHAR,"
    " accesskeyid VARCHAR, username VARCHAR,"
    " sessioncontext STRUCT(attributes STRUCT(mfaauthenticated VARCHAR, creationdate VARCHAR),"
    " sessionissuer STRUCT(type VARCHAR, principalid VARCHAR, arn VARCHAR, accountid VARCHAR,"
    " username VARCHAR)))"
)
COLUMNS = [
    ("eventversion", "VARCHAR"),
    ("useridentity", STRUCT_IDENTITY),
    ("eventtime", "VARCHAR"),
    ("eventsource", "VARCHAR"),
    ("eventname", "VARCHAR"),
    ("awsregion", "VARCHAR"),
    ("sourceipaddress", "VARCHAR"),
    ("useragent", "VARCHAR"),
    ("errorcode", "VARCHAR"),
    ("errormessage", "VARCHAR"),
    ("requestparameters", "VARCHAR"),
    ("responseelements", "VARCHAR"),
    ("additionaleventdata", "VARCHAR"),
    ("requestid", "VARCHAR"),
    ("eventid", "VARCHAR"),
    ("readonly", "VARCHAR"),
    ("resources", "STRUCT(arn VARCHAR, accountid VARCHAR, type VARCHAR)[]"),
    ("eventtype", "VARCHAR"),
    ("recipientaccountid", "VARCHAR"),
    ("sharedeventid", "VARCHAR"),
    ("vpcendpointid", "VARCHAR"),
    ("vpcendpointaccountid", "VARCHAR"),
    ("eventcategory", "VARCHAR"),
]


def text(v):
    """Athena's JsonSerDe reads a nested object into a STRING column as its JSON text."""
    if v is None:
        return None
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def identity(u):
    if not isinstance(u, dict):
        return None
    sc = u.get("sessionContext") or {}
    issuer = sc.get("sessionIssuer")
    attrs = sc.get("attributes")
    return {
        "type": u.get("type"),
        "principalid": u.get("principalId"),
        "arn": u.get("arn"),
        "accountid": u.get("accountId"),
        "invokedby": u.get("invokedBy"),
        "accesskeyid": u.get("accessKeyId"),
        "username": u.get("userName"),
        "sessioncontext": None
        if not sc
        else {
            "attributes": None
            if attrs is None
            else {"mfaauthenticated": attrs.get("mfaAuthenticated"), "creationdate": attrs.get("creationDate")},
            "sessionissuer": None
            if issuer is None
            else {
                "type": issuer.get("type"),
                "principalid": issuer.get("principalId"),
                "arn": issuer.get("arn"),
                "accountid": issuer.get("accountId"),
                "username": issuer.get("userName"),
            },
        },
    }


def row(r):
    resources = r.get("resources")
    return (
        text(r.get("eventVersion")),
        identity(r.get("userIdentity")),
        text(r.get("eventTime")),
        text(r.get("eventSource")),
        text(r.get("eventName")),
        text(r.get("awsRegion")),
        text(r.get("sourceIPAddress")),
        text(r.get("userAgent")),
        text(r.get("errorCode")),
        text(r.get("errorMessage")),
        text(r.get("requestParameters")),
        text(r.get("responseElements")),
        text(r.get("additionalEventData")),
        text(r.get("requestID")),
        text(r.get("eventID")),
        text(r.get("readOnly")),
        None
        if resources is None
        else [{"arn": x.get("ARN"), "accountid": x.get("accountId"), "type": x.get("type")} for x in resources],
        text(r.get("eventType")),
        text(r.get("recipientAccountId")),
        text(r.get("sharedEventID")),
        text(r.get("vpcEndpointId")),
        text(r.get("vpcEndpointAccountId")),
        text(r.get("eventCategory")),
    )


def main():
    sql_path, table, *record_files = sys.argv[1:]
    with open(sql_path) as f:
        athena_sql = f.read()
    db = duckdb.connect()
    db.execute(f"CREATE TABLE {table} ({', '.join(f'{n} {t}' for n, t in COLUMNS)})")
    placeholders = ", ".join("?" for _ in COLUMNS)
    rows = []
    for path in record_files:
        with open(path) as f:
            rows.extend(row(r) for r in json.load(f)["Records"])
    db.executemany(f"INSERT INTO {table} VALUES ({placeholders})", rows)
    statements = sqlglot.transpile(athena_sql, read="athena", write="duckdb")
    if len(statements) != 1:
        sys.exit(f"expected one statement, got {len(statements)}")
    cur = db.execute(statements[0])
    names = [d[0] for d in cur.description]
    out = csv.writer(sys.stdout, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    out.writerow(names)
    for values in cur.fetchall():
        # Athena quotes every value and writes NULL as an empty, unquoted field.
        sys.stdout.write(
            ",".join("" if v is None else '"' + str(v).replace('"', '""') + '"' for v in values) + "\n"
        )


if __name__ == "__main__":
    main()
