"""Contributions folded per person, team, challenge, slot and calendar month, kept by triggers.

The impact figures of a month, a quarter or a year read these folds instead of every contribution
(challenges.selectors.impact). The database keeps them, in the transaction of each write, whatever
made it (a service, a bulk insert, a cascade):

- an INSERT adds what it brought to its months' rows (counts and sums add up, the days and the
  first day combine), in one statement, in key order;
- an UPDATE that moves a contribution (day, amount, person, team, challenge, slot), or a DELETE,
  refolds the months it touched from the contributions themselves: their rows are made to exist and
  locked first, in key order, so that a concurrent writer of the same month waits, and the refold
  that follows (a statement of its own, so a snapshot of its own) sees every committed row. A month
  left with nothing is removed.

Keys compare with coalesce(id, 0): ids are positive, and an equality joins by hash where IS NOT
DISTINCT FROM could not.

Each function names its tables in the schema of the table that fired it (TG_TABLE_SCHEMA), never
through the session's search_path: a write to one organisation's contributions folds into that
organisation's months, whatever schema the writing session reads (a COPY naming the schema, a
maintenance session), and the schema may be renamed (an imported organisation) without a change.
"""

# ruff: noqa: S608 - every statement is made of this module's constants

from django.db import migrations, models

# In a trigger function's dynamic statements: %1$I is the schema of the table that fired it.
FOLD = "%1$I.challenges_contributionmonth"
SOURCE = "%1$I.challenges_contribution"
KEY = "challenge_id, user_id, team_id, skill_slot_id, month"
MONTH = "date_trunc('month', {row}.day)::date"
DAY_BIT = "(1 << (extract(day FROM {row}.day)::int - 1))"
# The months of contributions `source`, folded.
FOLDED = f"""
    SELECT c.challenge_id, c.user_id, c.team_id, c.skill_slot_id, {MONTH.format(row="c")},
           count(*), sum(c.amount), bit_or({DAY_BIT.format(row="c")}), min(c.day)
    FROM {{source}} c
    GROUP BY 1, 2, 3, 4, 5
"""


def _same_key(left: str, right: str, *, month: str | None = None) -> str:
    return (
        f"{left}.challenge_id = {right}.challenge_id"
        f" AND coalesce({left}.user_id, 0) = coalesce({right}.user_id, 0)"
        f" AND coalesce({left}.team_id, 0) = coalesce({right}.team_id, 0)"
        f" AND coalesce({left}.skill_slot_id, 0) = coalesce({right}.skill_slot_id, 0)"
        + (f" AND {left}.month = {right}.month" if month is None else month)
    )


def _function(name: str, statements: list[str], guard: str = "") -> str:
    """A trigger function running `statements`, each with its tables in the firing table's schema."""
    executed = "\n".join(f"    EXECUTE format($q${sql}$q$, TG_TABLE_SCHEMA);" for sql in statements)
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    {guard}
{executed}
    RETURN NULL;
END $fn$;
"""


INSERTED = _function(
    "contribution_months_inserted",
    [
        f"""
    INSERT INTO {FOLD} AS m ({KEY}, entries, amount, days, first_day)
    {FOLDED.format(source="inserted")}
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT ON CONSTRAINT contribution_month_key DO UPDATE
    SET entries = m.entries + EXCLUDED.entries,
        amount = m.amount + EXCLUDED.amount,
        days = m.days | EXCLUDED.days,
        first_day = LEAST(m.first_day, EXCLUDED.first_day)"""
    ],
) + (
    "CREATE TRIGGER contribution_months_insert AFTER INSERT ON challenges_contribution"
    " REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION contribution_months_inserted();"
)

MONTH_OF_C = " AND c.day >= k.month AND c.day < (k.month + interval '1 month')::date"


def _refold(name: str, touched: str, guard: str = "") -> str:
    """A trigger function refolding the months of the rows `touched` (a query of the contributions
    before and after the statement, with their days)."""
    keys = (
        f"SELECT DISTINCT t.challenge_id, t.user_id, t.team_id, t.skill_slot_id, {MONTH.format(row='t')} AS month"
        f" FROM ({touched}) t"
    )
    return _function(
        name,
        [
            f"""
    INSERT INTO {FOLD} ({KEY}, entries, amount, days, first_day)
    SELECT k.challenge_id, k.user_id, k.team_id, k.skill_slot_id, k.month, 0, 0, 0, k.month
    FROM ({keys}) k
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT ON CONSTRAINT contribution_month_key DO NOTHING""",
            f"""
    SELECT 1 FROM {FOLD} m JOIN ({keys}) k ON {_same_key("m", "k")}
    ORDER BY m.challenge_id, m.user_id, m.team_id, m.skill_slot_id, m.month
    FOR UPDATE OF m""",
            f"""
    UPDATE {FOLD} m
    SET entries = f.entries, amount = f.amount, days = f.days, first_day = f.first_day
    FROM (
        SELECT k.challenge_id, k.user_id, k.team_id, k.skill_slot_id, k.month,
               count(c.id) AS entries, coalesce(sum(c.amount), 0) AS amount,
               coalesce(bit_or({DAY_BIT.format(row="c")}), 0) AS days, coalesce(min(c.day), k.month) AS first_day
        FROM ({keys}) k
        LEFT JOIN {SOURCE} c ON {_same_key("c", "k", month=MONTH_OF_C)}
        GROUP BY 1, 2, 3, 4, 5
    ) f
    WHERE {_same_key("m", "f")}""",
            f"DELETE FROM {FOLD} m USING ({keys}) k WHERE {_same_key('m', 'k')} AND m.entries = 0",
        ],
        guard,
    )


# The rows an UPDATE moved: a note rewritten (erasing a person clears them) refolds nothing.
MOVED = (
    "SELECT o.challenge_id, o.user_id, o.team_id, o.skill_slot_id, o.day FROM old_rows o"
    " JOIN new_rows n ON n.id = o.id"
    " WHERE (o.challenge_id, o.user_id, o.team_id, o.skill_slot_id, o.day, o.amount)"
    " IS DISTINCT FROM (n.challenge_id, n.user_id, n.team_id, n.skill_slot_id, n.day, n.amount)"
    " UNION ALL "
    "SELECT n.challenge_id, n.user_id, n.team_id, n.skill_slot_id, n.day FROM old_rows o"
    " JOIN new_rows n ON n.id = o.id"
    " WHERE (o.challenge_id, o.user_id, o.team_id, o.skill_slot_id, o.day, o.amount)"
    " IS DISTINCT FROM (n.challenge_id, n.user_id, n.team_id, n.skill_slot_id, n.day, n.amount)"
)
UPDATED = _refold(
    "contribution_months_updated", MOVED, guard=f"IF NOT EXISTS ({MOVED}) THEN RETURN NULL; END IF;"
) + (
    "CREATE TRIGGER contribution_months_update AFTER UPDATE ON challenges_contribution"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION contribution_months_updated();"
)
DELETED = _refold(
    "contribution_months_deleted", "SELECT challenge_id, user_id, team_id, skill_slot_id, day FROM old_rows"
) + (
    "CREATE TRIGGER contribution_months_delete AFTER DELETE ON challenges_contribution"
    " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION contribution_months_deleted();"
)

# What is there already, folded (the migration runs in the organisation's schema).
BACKFILL = f"""
INSERT INTO challenges_contributionmonth ({KEY}, entries, amount, days, first_day)
{FOLDED.format(source="challenges_contribution")};
"""

DROP = """
DROP TRIGGER contribution_months_insert ON challenges_contribution;
DROP TRIGGER contribution_months_update ON challenges_contribution;
DROP TRIGGER contribution_months_delete ON challenges_contribution;
DROP FUNCTION contribution_months_inserted();
DROP FUNCTION contribution_months_updated();
DROP FUNCTION contribution_months_deleted();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0010_team_headcount"),
    ]

    operations = [
        migrations.CreateModel(
            name="ContributionMonth",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("challenge_id", models.BigIntegerField()),
                ("user_id", models.BigIntegerField(null=True)),
                ("team_id", models.BigIntegerField(null=True)),
                ("skill_slot_id", models.BigIntegerField(null=True)),
                ("month", models.DateField()),
                ("entries", models.PositiveIntegerField()),
                ("amount", models.DecimalField(decimal_places=2, max_digits=18)),
                ("days", models.IntegerField()),
                ("first_day", models.DateField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("challenge_id", "user_id", "team_id", "skill_slot_id", "month"),
                        name="contribution_month_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.RunSQL(INSERTED + UPDATED + DELETED + BACKFILL, reverse_sql=DROP),
    ]
