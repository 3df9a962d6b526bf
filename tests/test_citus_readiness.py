"""docs/sharding.md's plan, checked against the migrated schema so that it stays true.

The doc names every table's Citus kind (distributed by workspace_id, reference, local)
and lists the changes still pending before the distributed tables can be distributed.
The checker reads the live schema (pg_class, pg_index, pg_constraint) and computes what
Citus would refuse: a distributed table without the distribution column, a primary key
or unique index without it, a foreign key between distributed tables that does not
carry it, and foreign keys Citus cannot place (distributed to local, reference or local
to distributed). The test asserts the computed list *is* the documented one: a new
table, key or foreign key that breaks the plan fails, and so does a fix the doc still
lists as pending.
"""

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

DOC = Path(settings.BASE_DIR) / "docs" / "sharding.md"
DISTRIBUTION_COLUMN = "workspace_id"
KINDS = ("distributed", "reference", "local")


# --- the doc ---------------------------------------------------------------------------


def doc_table(text: str, heading: str) -> list[list[str]]:
    """The cells of the first markdown table under `## heading`, header row left out."""
    section = re.split(rf"(?m)^## {re.escape(heading)}$", text, maxsplit=1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def doc_kinds(text: str) -> dict[str, str]:
    """Table name or fnmatch pattern -> kind, from the "Which table is what" table."""
    kinds = {}
    for tables, kind, _why in doc_table(text, "Which table is what"):
        word = kind.split()[0]
        assert word in KINDS, f"unknown Citus kind {kind!r}"
        for name in re.findall(r"`([^`]+)`", tables):
            assert name not in kinds, f"{name} is classified twice"
            kinds[name] = word
    return kinds


def doc_pending(text: str) -> set[tuple[str, str]]:
    """(table, violation) pairs of the "Pending changes" table."""
    return {(table.strip("`"), change) for table, change, *_ in doc_table(text, "Pending changes")}


def doc_triggers_and_functions(text: str) -> set[tuple[str, str]]:
    """(name, table) of each trigger and (name, "function") of each function the doc covers."""
    return {(name.strip("`"), on.strip("`")) for name, on, *_ in doc_table(text, "Triggers and functions")}


# --- the schema ------------------------------------------------------------------------


@dataclass
class Schema:
    columns: dict[str, set[str]] = field(default_factory=dict)
    keys: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)  # table, kind, columns
    foreign_keys: list[tuple[str, tuple[str, ...], str, tuple[str, ...]]] = field(default_factory=list)
    triggers_and_functions: set[tuple[str, str]] = field(default_factory=set)  # (name, table or "function")


def _columns_sql(relation: str, numbers: str) -> str:
    return (
        f"ARRAY(SELECT a.attname::text FROM unnest({numbers}) WITH ORDINALITY AS k(attnum, n)"
        f" JOIN pg_attribute a ON a.attrelid = {relation} AND a.attnum = k.attnum ORDER BY k.n)"
    )


def schema_read(*, namespace: str = "public") -> Schema:
    """Tables (partitions count as their parent), unique indexes and foreign keys of `namespace`."""
    schema = Schema()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attname FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
            " WHERE ns.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition",
            [namespace],
        )
        for table, column in cursor.fetchall():
            schema.columns.setdefault(table, set()).add(column)
        # Unique constraints are unique indexes; so is a partial unique index, which Citus
        # refuses just the same without the distribution column.
        cursor.execute(
            "SELECT c.relname, CASE WHEN i.indisprimary THEN 'primary key' ELSE 'unique' END,"
            f" {_columns_sql('i.indrelid', 'i.indkey')}"
            " FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace ns ON ns.oid = c.relnamespace"
            " WHERE ns.nspname = %s AND i.indisunique AND NOT c.relispartition",
            [namespace],
        )
        schema.keys = [(table, kind, tuple(columns)) for table, kind, columns in cursor.fetchall()]
        cursor.execute(
            f"SELECT src.relname, {_columns_sql('con.conrelid', 'con.conkey')}, dst.relname,"
            f" {_columns_sql('con.confrelid', 'con.confkey')}"
            " FROM pg_constraint con JOIN pg_class src ON src.oid = con.conrelid"
            " JOIN pg_class dst ON dst.oid = con.confrelid JOIN pg_namespace ns ON ns.oid = src.relnamespace"
            " WHERE ns.nspname = %s AND con.contype = 'f' AND NOT src.relispartition AND con.conparentid = 0",
            [namespace],
        )
        schema.foreign_keys = [(s, tuple(sc), d, tuple(dc)) for s, sc, d, dc in cursor.fetchall()]
        cursor.execute(
            "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = %s AND NOT t.tgisinternal"
            " UNION SELECT p.proname, 'function' FROM pg_proc p JOIN pg_namespace ns ON ns.oid = p.pronamespace"
            " WHERE ns.nspname = %s AND NOT EXISTS"
            " (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')",  # an extension's own
            [namespace, namespace],
        )
        schema.triggers_and_functions = set(cursor.fetchall())
    return schema


# --- the checker -----------------------------------------------------------------------


@dataclass
class Classification:
    kind_of: dict[str, str]
    unclassified: list[str]
    stale: list[str]  # names or patterns of the doc that match no table


def classify(tables: set[str], kinds: dict[str, str]) -> Classification:
    kind_of, used = {}, set()
    for table in sorted(tables):
        matches = [name for name in kinds if name == table] or [name for name in kinds if fnmatchcase(table, name)]
        if len({kinds[name] for name in matches}) == 1:
            kind_of[table] = kinds[matches[0]]
            used.update(matches)
    return Classification(
        kind_of=kind_of,
        unclassified=sorted(tables - kind_of.keys()),
        stale=sorted(name for name in kinds if name not in used),
    )


def _cols(columns: tuple[str, ...]) -> str:
    return "(" + ", ".join(columns) + ")"


def violations(schema: Schema, kind_of: dict[str, str]) -> set[tuple[str, str]]:
    """What Citus would refuse when distributing the tables `kind_of` calls distributed."""
    found = set()
    distributed = {table for table, kind in kind_of.items() if kind == "distributed"}
    for table in distributed:
        if DISTRIBUTION_COLUMN not in schema.columns.get(table, set()):
            found.add((table, f"no {DISTRIBUTION_COLUMN} column"))
    for table, kind, columns in schema.keys:
        if table in distributed and DISTRIBUTION_COLUMN not in columns:
            found.add((table, f"{kind} {_cols(columns)} without {DISTRIBUTION_COLUMN}"))
    for source, columns, target, target_columns in schema.foreign_keys:
        source_kind, target_kind = kind_of.get(source), kind_of.get(target)
        fk = f"foreign key {_cols(columns)} to {target}"
        if source_kind == "distributed" and target_kind == "distributed":
            pairs = set(zip(columns, target_columns, strict=True))
            if (DISTRIBUTION_COLUMN, DISTRIBUTION_COLUMN) not in pairs:
                found.add((source, f"{fk} without {DISTRIBUTION_COLUMN}"))
        elif source_kind == "distributed" and target_kind == "local":
            found.add((source, f"{fk}, a local table"))
        elif source_kind in ("reference", "local") and target_kind == "distributed":
            found.add((source, f"{fk}, a distributed table, from a {source_kind} table"))
    return found


def _listing(pairs: set[tuple[str, str]]) -> str:
    return "\n".join(f"| `{table}` | {change} |" for table, change in sorted(pairs)) or "(none)"


# --- the plan against the schema -------------------------------------------------------


@pytest.fixture
def plan() -> tuple[Schema, Classification, str]:
    text = DOC.read_text()
    schema = schema_read()
    return schema, classify(set(schema.columns), doc_kinds(text)), text


@pytest.mark.django_db
def test_every_table_of_the_schema_has_one_citus_kind_in_the_doc(plan) -> None:
    _schema, classification, _text = plan
    assert classification.unclassified == [], "classify these in docs/sharding.md, 'Which table is what'"
    assert classification.stale == [], "docs/sharding.md names tables that do not exist"


@pytest.mark.django_db
def test_what_citus_would_refuse_is_exactly_the_pending_changes_of_the_doc(plan) -> None:
    schema, classification, text = plan
    found, pending = violations(schema, classification.kind_of), doc_pending(text)
    assert found - pending == set(), f"new, not in docs/sharding.md 'Pending changes':\n{_listing(found - pending)}"
    assert pending - found == set(), f"done, still listed as pending:\n{_listing(pending - found)}"


@pytest.mark.django_db
def test_every_trigger_and_function_has_its_citus_change_in_the_doc(plan) -> None:
    schema, _classification, text = plan
    documented = doc_triggers_and_functions(text)
    assert schema.triggers_and_functions - documented == set(), "say in docs/sharding.md what Citus needs of these"
    assert documented - schema.triggers_and_functions == set(), "docs/sharding.md names these, the schema has not"


# --- the checker on tables built for it ------------------------------------------------

DEMO = "citus_readiness_demo"
DEMO_TABLES = f"""
CREATE SCHEMA {DEMO};
SET LOCAL search_path = {DEMO};
CREATE TABLE workspace (id bigint PRIMARY KEY);
CREATE TABLE wallet (workspace_id bigint REFERENCES workspace, id bigint, PRIMARY KEY (workspace_id, id));
CREATE TABLE posting (
    workspace_id bigint, id bigint, wallet_id bigint, key text,
    PRIMARY KEY (workspace_id, id), UNIQUE (workspace_id, wallet_id, key),
    FOREIGN KEY (workspace_id, wallet_id) REFERENCES wallet);
CREATE TABLE no_column (id bigint PRIMARY KEY);
CREATE TABLE id_keyed (workspace_id bigint, id bigint PRIMARY KEY, key text UNIQUE);
CREATE UNIQUE INDEX one_open ON id_keyed (key) WHERE key IS NOT NULL;
CREATE TABLE loose_child (
    workspace_id bigint, id bigint, parent_id bigint REFERENCES id_keyed,
    log_id bigint, PRIMARY KEY (workspace_id, id));
CREATE TABLE log (id bigint PRIMARY KEY);
ALTER TABLE loose_child ADD FOREIGN KEY (log_id) REFERENCES log;
CREATE TABLE price (id bigint PRIMARY KEY, wallet_workspace bigint, wallet_id bigint,
    FOREIGN KEY (wallet_workspace, wallet_id) REFERENCES wallet);
CREATE TABLE stranger (id bigint PRIMARY KEY);
"""
DEMO_KINDS = {
    "workspace": "reference",
    "price": "reference",
    "log": "local",
    "wallet": "distributed",
    "posting": "distributed",
    "no_column": "distributed",
    "id_keyed": "distributed",
    "loose_child": "distributed",
    "gone_*": "local",
}


@pytest.mark.django_db
def test_the_checker_finds_each_kind_of_violation_and_nothing_on_compliant_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(DEMO_TABLES)
    schema = schema_read(namespace=DEMO)
    classification = classify(set(schema.columns), DEMO_KINDS)

    assert classification.unclassified == ["stranger"]
    assert classification.stale == ["gone_*"]
    assert violations(schema, classification.kind_of) == {
        ("no_column", "no workspace_id column"),
        ("no_column", "primary key (id) without workspace_id"),
        ("id_keyed", "primary key (id) without workspace_id"),
        ("id_keyed", "unique (key) without workspace_id"),  # the constraint and the partial index
        ("loose_child", "foreign key (parent_id) to id_keyed without workspace_id"),
        ("loose_child", "foreign key (log_id) to log, a local table"),
        ("price", "foreign key (wallet_workspace, wallet_id) to wallet, a distributed table, from a reference table"),
    }


def test_the_doc_tables_are_read_cell_by_cell() -> None:
    text = (
        "## Which table is what\n\n| table | Citus kind | why |\n|---|---|---|\n"
        "| `a`, `b_*` | distributed by `workspace_id` | x |\n| `c` | reference | y |\n\n"
        "## Pending changes\n\n| table | change |\n|---|---|\n| `a` | no workspace_id column |\n"
    )
    assert doc_kinds(text) == {"a": "distributed", "b_*": "distributed", "c": "reference"}
    assert doc_pending(text) == {("a", "no workspace_id column")}
