"""Merge staged rows into customers, set-based.

1. Duplicates: rows sharing a normalized email (lower-cased) or an E.164 phone with another row
   of the file get, transitively, the smallest line number among them as their cluster (label
   propagation in SQL, over those rows only: a percent or two of a file).
2. Existing: on an incident that already has customers, rows whose email or phone a customer
   already has (as its own or as one of its other keys) are linked to it; a cluster that meets
   several existing customers folds them into the oldest.
3. Singles: every other row, nearly all rows of a first import, becomes a customer with one
   INSERT … SELECT. Customer ids are reserved as a block: a row's customer is base + line.
4. Groups: clusters of several rows and rows that add something to an existing customer are
   folded in Python (folding.py); rows an existing customer already contains are skipped.
5. Keys: emails, phones and references a customer has beyond its own email, phone and first
   reference are recorded as its other keys.

A first import (PostgreSQL, an incident without customers) skips the staging table: its rows are
loaded as customers base + line while the file is still read (staging.DirectLoad), and a view of
them stands in for the staging table. Step 3 is then already done; step 4 replaces the loaded
rows of each group by the group's customer.

The SQL runs on PostgreSQL and on SQLite (≥ 3.33, for UPDATE … FROM).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from breachcomms.core.timing import PhaseTimer
from breachcomms.incidents.risk import RiskRules
from breachcomms.recipients.folding import (
    MERGE_FIELDS,
    GroupFolder,
    KeptApart,
    grouped_rows,
    merge_existing_customers,
)
from breachcomms.recipients.models import Customer, CustomerKey
from breachcomms.recipients.sieve import LoadNotes
from breachcomms.recipients.signals import fold_conflict_tokens
from breachcomms.recipients.staging import STAGING, DirectLoad

CUSTOMER = Customer._meta.db_table
KEY = CustomerKey._meta.db_table
DUPLICATES, MATCHES, CLUSTER_CUSTOMERS, LINKED, TOUCHED = (
    "breachcomms_import_duplicates",
    "breachcomms_import_matches",
    "breachcomms_import_cluster_customers",
    "breachcomms_import_linked",
    "breachcomms_import_touched",
)
_WORK_TABLES = (DUPLICATES, MATCHES, CLUSTER_CUSTOMERS, LINKED, TOUCHED)
# Above this share of candidate rows, grouping every row is cheaper than looking each candidate up.
SIEVE_LIMIT = 0.2
_CUSTOMER_COLUMNS = "name, email, phone, country, subdivision, locale, language, time_zone, external_refs, accounts"


@dataclass
class MergeResult:
    customers_created: int
    customers_linked: int  # existing customers merged together because the file linked them
    kept_apart: list[KeptApart] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def _execute(sql: str, params: list[Any] | dict[str, Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.rowcount


def _scalar(sql: str, params: list[Any] | None = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _analyze(table: str, columns: str = "") -> None:
    if _postgres():
        # Temporary tables are never analyzed automatically; the planner needs their size (and
        # the number of distinct keys, for the staging table).
        _execute(f"ANALYZE {table} {columns}")


def _drop_work_tables() -> None:
    for table in _WORK_TABLES:
        _execute(f"DROP TABLE IF EXISTS {table}")


def _elements_sql(column: str) -> tuple[str, str, str]:
    """(FROM item, value, 1-based position) for the elements of a JSON array of strings."""
    if _postgres():
        return f"jsonb_array_elements_text({column}) WITH ORDINALITY AS e(value, position)", "e.value", "e.position"
    return f"json_each({column}) AS e", "e.value", "e.key + 1"


def tier_sql(rules: RiskRules) -> tuple[str, str, list[int]]:
    """SQL expressions for (risk_tier, risk_basis_flags) of ``exposure_flags`` under ``rules``."""
    tier = (
        "CASE WHEN (exposure_flags & %s) <> 0 THEN 'high' WHEN (exposure_flags & %s) <> 0 THEN 'medium' ELSE 'low' END"
    )
    basis = (
        "CASE WHEN (exposure_flags & %s) <> 0 THEN (exposure_flags & %s) "
        "WHEN (exposure_flags & %s) <> 0 THEN (exposure_flags & %s) ELSE exposure_flags END"
    )
    return tier, basis, [rules.high, rules.medium, rules.high, rules.high, rules.medium, rules.medium]


# --- 1. duplicates within the file ----------------------------------------------------------------


def find_duplicates() -> None:
    """Rows that share an email or phone with another row of the file, clustered transitively."""
    if _postgres():
        # Nearly every key occurs once, so parallel workers' partial aggregates merge nothing and
        # only add a sort of every key (over the direct load's view, where the planner does not
        # know how many keys there are, this doubled the step's time).
        _execute("SET LOCAL max_parallel_workers_per_gather = 0")
    _find_duplicates()
    if _postgres():
        _execute("SET LOCAL max_parallel_workers_per_gather TO DEFAULT")


def _find_duplicates() -> None:
    _execute(
        f"""CREATE TEMPORARY TABLE {DUPLICATES} AS
        SELECT r.line AS line, r.email_key AS email_key, r.phone AS phone, r.line AS cluster FROM {STAGING} r
        WHERE (r.email <> '' AND r.email_key IN (SELECT email_key FROM {STAGING} WHERE email <> ''
                                                 GROUP BY email_key HAVING COUNT(*) > 1))
           OR (r.phone <> '' AND r.phone IN (SELECT phone FROM {STAGING} WHERE phone <> ''
                                             GROUP BY phone HAVING COUNT(*) > 1))"""  # noqa: S608 - fixed names
    )
    _propagate_clusters()


def _propagate_clusters() -> None:
    """Give every duplicate the smallest line of the rows it is linked to, transitively."""
    _analyze(DUPLICATES)
    while True:
        changed = 0
        for column in ("email_key", "phone"):
            changed += _execute(
                f"""UPDATE {DUPLICATES} SET cluster = g.c
                FROM (SELECT {column} AS k, MIN(cluster) AS c FROM {DUPLICATES} WHERE {column} <> ''
                      GROUP BY {column} HAVING COUNT(*) > 1) AS g
                WHERE {DUPLICATES}.{column} = g.k AND {DUPLICATES}.cluster > g.c"""  # noqa: S608
            )
        if not changed:
            return


def find_duplicates_of(load: DirectLoad, lines: list[int]) -> None:
    """Like find_duplicates, after a direct load: only the keys of ``lines`` (rows the KeySieve saw a
    possible twin of) are looked at, each through the customer table's lookup index.

    ``OFFSET 0`` keeps each lookup a subquery of its own: the planner knows nothing yet of the keys
    just loaded and, joining instead, would read every row to find the few it needs.
    """
    by_key = " UNION ".join(
        f"""SELECT r.line, r.email_key, r.phone, COUNT(*) OVER (PARTITION BY k.key) AS rows
        FROM (SELECT DISTINCT {key} AS key FROM candidate WHERE {column} <> '') k,
        LATERAL (SELECT line, email_key, phone FROM {STAGING} s
                 WHERE s.{column} <> '' AND s.{key} = k.key OFFSET 0) r"""  # noqa: S608 - fixed names
        for column, key in (("email", "email_key"), ("phone", "phone"))
    )
    _execute(
        f"""CREATE TEMPORARY TABLE {DUPLICATES} AS
        WITH candidate AS MATERIALIZED (
            SELECT email, lower(email) AS email_key, phone FROM {CUSTOMER} WHERE id = ANY(%(ids)s))
        SELECT DISTINCT line, email_key, phone, line AS cluster FROM ({by_key}) AS linked WHERE rows > 1""",  # noqa: S608
        {"ids": sorted({load.base + line for line in lines})},
    )
    _propagate_clusters()


# --- 2. existing customers -------------------------------------------------------------------------


def incident_has_customers(incident_id: int) -> bool:
    return bool(_scalar(f"SELECT EXISTS (SELECT 1 FROM {CUSTOMER} WHERE incident_id = %s)", [incident_id]))  # noqa: S608


def find_matches(incident_id: int) -> None:
    """Each row that meets an existing customer of the incident, with that customer (repeats allowed)."""
    _execute(
        f"""CREATE TEMPORARY TABLE {MATCHES} AS
        SELECT r.line AS line, c.id AS customer_id FROM {STAGING} r
            JOIN {CUSTOMER} c ON c.incident_id = %s AND c.email <> '' AND lower(c.email) = r.email_key
        UNION ALL SELECT r.line, c.id FROM {STAGING} r
            JOIN {CUSTOMER} c ON c.incident_id = %s AND c.phone <> '' AND c.phone = r.phone_key
        UNION ALL SELECT r.line, k.customer_id FROM {STAGING} r
            JOIN {KEY} k ON k.incident_id = %s AND k.kind = 'email' AND k.value = r.email_key
        UNION ALL SELECT r.line, k.customer_id FROM {STAGING} r
            JOIN {KEY} k ON k.incident_id = %s AND k.kind = 'phone' AND k.value = r.phone_key""",  # noqa: S608
        [incident_id] * 4,
    )
    _analyze(MATCHES)


def link_existing(incident_id: int, rules: RiskRules) -> tuple[int, list[KeptApart]]:
    """Fold existing customers that one cluster meets into the oldest; returns how many were folded
    and the customers kept apart because folding them would have lost a record (see signals.py)."""
    _execute(
        f"""CREATE TEMPORARY TABLE {CLUSTER_CUSTOMERS} AS
        SELECT DISTINCT COALESCE(d.cluster, m.line) AS cluster, m.customer_id AS customer_id
        FROM {MATCHES} m LEFT JOIN {DUPLICATES} d ON d.line = m.line"""  # noqa: S608
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT cluster, customer_id FROM {CLUSTER_CUSTOMERS}
            WHERE cluster IN (SELECT cluster FROM {CLUSTER_CUSTOMERS} GROUP BY cluster HAVING COUNT(*) > 1)
            ORDER BY cluster, customer_id"""  # noqa: S608
        )
        conflicts: dict[int, list[int]] = {}
        for cluster, customer_id in cursor.fetchall():
            conflicts.setdefault(cluster, []).append(customer_id)
    tokens = fold_conflict_tokens(
        sender=Customer, incident_id=incident_id, customer_ids={i for ids in conflicts.values() for i in ids}
    )
    # The oldest (smallest id) survives each fold, so MIN(customer_id) below stays right.
    folded, kept = 0, []
    for cluster, ids in conflicts.items():
        count, kept_apart = merge_existing_customers(ids, rules, tokens=tokens, line=cluster)
        folded += count
        kept.extend(kept_apart)
    return folded, kept


def collect_linked(*, existing: bool) -> None:
    """The rows that are not simply new customers: duplicates and rows meeting existing customers."""
    if existing:
        rows = f"""SELECT r.line AS line, COALESCE(d.cluster, r.line) AS cluster, x.customer_id AS customer_id
            FROM {STAGING} r LEFT JOIN {DUPLICATES} d ON d.line = r.line
            LEFT JOIN (SELECT cluster, MIN(customer_id) AS customer_id FROM {CLUSTER_CUSTOMERS} GROUP BY cluster) x
                ON x.cluster = COALESCE(d.cluster, r.line)
            WHERE d.line IS NOT NULL OR x.cluster IS NOT NULL"""  # noqa: S608
    else:
        rows = f"SELECT line, cluster, CAST(NULL AS BIGINT) AS customer_id FROM {DUPLICATES}"  # noqa: S608
    _execute(
        f"""CREATE TEMPORARY TABLE {LINKED} AS
        SELECT line, cluster, customer_id, COUNT(*) OVER (PARTITION BY cluster) AS cluster_rows FROM ({rows}) AS l"""  # noqa: S608
    )
    _analyze(LINKED)


# --- 3. new customers ------------------------------------------------------------------------------


def reserve_customer_ids() -> int:
    """Reserve a block of customer ids and return its base: a new cluster's id is base + cluster.

    Clusters are line numbers, so no row needs an UPDATE to learn its customer's id. Unused ids
    (rejected or merged lines) leave gaps, which cost nothing.
    """
    max_line = _scalar(f"SELECT COALESCE(MAX(line), 0) FROM {STAGING}")  # noqa: S608
    if not _postgres():
        return int(_scalar(f"SELECT COALESCE(MAX(id), 0) FROM {CUSTOMER}"))  # noqa: S608
    # merge_staged's lock keeps other merges from taking ids between nextval and setval.
    base = _scalar(f"SELECT nextval(pg_get_serial_sequence('{CUSTOMER}', 'id'))")
    _execute(f"SELECT setval(pg_get_serial_sequence('{CUSTOMER}', 'id'), %s)", [base + max_line])
    return int(base)


def insert_single_row_customers(incident_id: int, rules: RiskRules, base: int) -> int:
    """Create the customers of rows linked to nothing, with one INSERT … SELECT."""
    tier, basis, params = tier_sql(rules)
    now = timezone.now()
    created = _execute(
        f"""INSERT INTO {CUSTOMER} (id, incident_id, {_CUSTOMER_COLUMNS}, exposure_flags, risk_tier,
                risk_basis_flags, attributes, created_at, updated_at)
        SELECT {int(base)} + r.line, %s, {_CUSTOMER_COLUMNS}, exposure_flags, {tier}, {basis}, attributes, %s, %s
        FROM {STAGING} r WHERE NOT EXISTS (SELECT 1 FROM {LINKED} l WHERE l.line = r.line)""",  # noqa: S608
        [incident_id, *params, now, now],
    )
    record_single_row_references(incident_id, base)
    return created


def record_single_row_references(incident_id: int, base: int, lines: list[int] | None = None) -> None:
    """The references beyond the first of the customers of rows linked to nothing, as their other keys.

    ``lines``, if given (after a direct load), are the only rows with more than one reference."""
    elements, value, position = _elements_sql("r.external_refs")
    params: list[Any] = [incident_id]
    if lines is None:
        several = "jsonb_array_length(external_refs) > 1" if _postgres() else "json_array_length(external_refs) > 1"
        rows = f"SELECT line, external_refs FROM {STAGING} WHERE {several}"  # noqa: S608
    elif not lines:
        return
    else:
        rows = f"SELECT id - {int(base)} AS line, external_refs FROM {CUSTOMER} WHERE id = ANY(%s)"  # noqa: S608
        params.append([base + line for line in lines])
    _execute(
        f"""INSERT INTO {KEY} (incident_id, customer_id, kind, value)
        SELECT DISTINCT %s, {int(base)} + r.line, 'ref', {value} FROM ({rows}) r, {elements}
        WHERE {position} > 1 AND NOT EXISTS (SELECT 1 FROM {LINKED} l WHERE l.line = r.line)""",  # noqa: S608
        params,
    )


# --- 3b. new customers of a first import, loaded while the file was read ----------------------------


def direct_load_begin(incident_id: int, rules: RiskRules) -> DirectLoad | None:
    """Start a direct load if the incident has no customers yet (PostgreSQL; inside the import's transaction).

    The lock is merge_staged's, taken for the whole import: nothing else may add customers (to
    this incident, or ids to the sequence) until the import commits.
    """
    if not _postgres():
        return None
    _execute(f"LOCK TABLE {CUSTOMER} IN SHARE ROW EXCLUSIVE MODE")
    if incident_has_customers(incident_id):
        return None
    base = int(_scalar(f"SELECT nextval(pg_get_serial_sequence('{CUSTOMER}', 'id'))"))
    return DirectLoad(incident_id=incident_id, base=base, rules=rules)


def _create_direct_view(load: DirectLoad) -> None:
    """The loaded customers, seen as the staging table the merge's steps read.

    Its email_key is ``lower(email)`` exactly (not the staging table's NULLIF): find_duplicates_of
    finds rows by it through customer_email_lookup, whose expression it must match; any other
    spelling turns each lookup into a scan of the incident (a million-row import ran for minutes).
    """
    columns = ", ".join(f"{name}" for name in MERGE_FIELDS)
    _execute(
        f"""CREATE TEMPORARY VIEW {STAGING} AS
        SELECT CAST(id - {int(load.base)} AS integer) AS line, {columns}, lower(email) AS email_key, id AS row_id
        FROM {CUSTOMER} WHERE incident_id = {int(load.incident_id)} AND id > {int(load.base)}"""  # noqa: S608
    )


def _merge_direct(load: DirectLoad, staged_rows: int, timer: PhaseTimer, notes: LoadNotes | None) -> int:
    """Finish a direct load: keep the rows' own customers, fold the groups; returns customers created."""
    base = load.base
    with timer("reserve ids"):
        # The import's lock keeps every id above base its own: the largest is found at the primary key's end.
        last = _scalar(f"SELECT COALESCE(MAX(id), %s) FROM {CUSTOMER} WHERE id > %s", [base, base])  # noqa: S608
        _execute(f"SELECT setval(pg_get_serial_sequence('{CUSTOMER}', 'id'), %s)", [last])
    with timer("single-row customers"):
        record_single_row_references(load.incident_id, base, notes.several_refs if notes is not None else None)
    with timer("touched rows"):
        collect_touched(base, direct=True)
    with timer("remove grouped rows"):
        # The rows of a group were loaded as customers of their own: the group's customer replaces them.
        removed = _execute(f"DELETE FROM {CUSTOMER} WHERE id IN (SELECT {int(base)} + line FROM {LINKED})")  # noqa: S608
    with timer("merge groups"):
        created = staged_rows - removed + merge_groups(load.incident_id, load.rules)
    return created


# --- 4. groups -----------------------------------------------------------------------------------


def _unchanged_sql() -> str:
    """A condition: row r adds nothing to existing customer c (not even a key). PostgreSQL only."""
    fields = " AND ".join(f"(c.{name} <> '' OR r.{name} = '')" for name in MERGE_FIELDS[:8])
    return f"""{fields}
        AND (r.exposure_flags & ~c.exposure_flags) = 0
        AND c.accounts @> r.accounts AND c.external_refs @> r.external_refs
        AND c.attributes ?& ARRAY(SELECT jsonb_object_keys(r.attributes))
        AND (r.email = '' OR lower(c.email) = r.email_key OR EXISTS (SELECT 1 FROM {KEY} k
             WHERE k.incident_id = c.incident_id AND k.kind = 'email' AND k.value = r.email_key))
        AND (r.phone = '' OR c.phone = r.phone OR EXISTS (SELECT 1 FROM {KEY} k
             WHERE k.incident_id = c.incident_id AND k.kind = 'phone' AND k.value = r.phone))"""  # noqa: S608


def collect_touched(base: int, *, direct: bool = False) -> None:
    """The linked rows that change something, with their customer (existing or base + cluster).

    After a direct load the rows are read by their customer's id: the view's line (id - base) is
    served by no index, and joining on it read every customer of the incident.
    """
    join = f"r.row_id = {int(base)} + l.line" if direct else "r.line = l.line"
    skip = ""
    if _postgres():
        skip = f"""AND NOT (l.customer_id IS NOT NULL AND l.cluster_rows = 1
            AND EXISTS (SELECT 1 FROM {CUSTOMER} c WHERE c.id = l.customer_id AND {_unchanged_sql()}))"""  # noqa: S608
    # The staged values come along, so the steps after this one never read the whole file again.
    values = ", ".join(f"r.{name} AS {name}" for name in (*MERGE_FIELDS, "email_key"))
    _execute(
        f"""CREATE TEMPORARY TABLE {TOUCHED} AS
        SELECT l.line AS line, COALESCE(l.customer_id, {int(base)} + l.cluster) AS customer_id,
               CASE WHEN l.customer_id IS NULL THEN 1 ELSE 0 END AS new, {values}
        FROM {LINKED} l JOIN {STAGING} r ON {join} WHERE 1 = 1 {skip}"""  # noqa: S608
    )
    _analyze(TOUCHED)


def merge_groups(incident_id: int, rules: RiskRules) -> int:
    """Create or update the customers of touched rows; returns how many were created."""
    folder = GroupFolder(incident_id, rules)
    fields = ", ".join(f"t.{name}" for name in MERGE_FIELDS)
    sql = f"SELECT t.customer_id, t.new, {fields} FROM {TOUCHED} t ORDER BY t.customer_id, t.line"  # noqa: S608
    for group in grouped_rows(sql, []):
        folder.add(group)
    return folder.finish()


# --- 5. other keys ---------------------------------------------------------------------------------


def record_other_keys(incident_id: int) -> None:
    """Emails, phones and references of touched customers beyond their own, as their other keys."""
    contacts = (("email", "t.email_key", "lower(c.email)"), ("phone", "t.phone", "c.phone"))
    for kind, value, own in contacts:
        _execute(
            f"""INSERT INTO {KEY} (incident_id, customer_id, kind, value)
            SELECT DISTINCT %s, c.id, '{kind}', {value} FROM {TOUCHED} t JOIN {CUSTOMER} c ON c.id = t.customer_id
            WHERE {value} <> '' AND {value} <> {own}
            ON CONFLICT DO NOTHING""",  # noqa: S608
            [incident_id],
        )
    elements, ref, position = _elements_sql("c.external_refs")
    _execute(
        f"""INSERT INTO {KEY} (incident_id, customer_id, kind, value)
        SELECT DISTINCT %s, c.id, 'ref', {ref} FROM (SELECT DISTINCT customer_id FROM {TOUCHED}) t
            JOIN {CUSTOMER} c ON c.id = t.customer_id, {elements}
        WHERE {position} > 1
        ON CONFLICT DO NOTHING""",  # noqa: S608
        [incident_id],
    )


def merge_staged(
    incident_id: int,
    rules: RiskRules,
    *,
    direct: DirectLoad | None = None,
    staged_rows: int = 0,
    notes: LoadNotes | None = None,
) -> MergeResult:
    """Run the whole merge of the staging table (call inside a transaction).

    After a direct load (``direct``; ``staged_rows`` is how many rows it loaded), the loaded
    customers stand in for the staging table; ``notes``, if given, say which of its rows may have a
    twin or more than one reference (sieve.py), so only those rows are read again.
    """
    timer = PhaseTimer()
    _drop_work_tables()
    if _postgres():
        # One merge at a time: what this one sees of existing customers must stay true until it
        # commits (other writers wait; readers do not).
        _execute(f"LOCK TABLE {CUSTOMER} IN SHARE ROW EXCLUSIVE MODE")
    with timer("analyze"):
        if direct is not None:
            # The rows just loaded are cached: fetching a group's few thousand rows by id is far
            # cheaper than the default cost of random reads (4 pages' worth each) makes it look,
            # and the planner would otherwise scan all the incident's customers to find them.
            _execute("SET LOCAL random_page_cost = 1.1")
            _create_direct_view(direct)
            # What the planner knew of the incident's customers (none) is wrong now; the view's
            # range on id tells it how many rows it reads.
            _analyze(CUSTOMER, "(id, incident_id)")
        else:
            _analyze(STAGING, "(line, email_key, phone, phone_key)")
    with timer("duplicates"):
        if direct is not None and notes is not None and len(notes.twins) <= staged_rows * SIEVE_LIMIT:
            find_duplicates_of(direct, notes.twins)
        else:
            find_duplicates()
    linked, kept = 0, list[KeptApart]()
    existing = direct is None and incident_has_customers(incident_id)
    if existing:
        with timer("existing customers"):
            find_matches(incident_id)
            linked, kept = link_existing(incident_id, rules)
    collect_linked(existing=existing)
    if direct is not None:
        created = _merge_direct(direct, staged_rows, timer, notes)
    else:
        with timer("reserve ids"):
            base = reserve_customer_ids()
        with timer("single-row customers"):
            created = insert_single_row_customers(incident_id, rules, base)
        with timer("merge groups"):
            collect_touched(base)
            created += merge_groups(incident_id, rules)
    with timer("other keys"):
        record_other_keys(incident_id)
    _drop_work_tables()
    if direct is not None:
        _execute(f"DROP VIEW {STAGING}")
    return MergeResult(customers_created=created, customers_linked=linked, kept_apart=kept, timings=timer.seconds)
