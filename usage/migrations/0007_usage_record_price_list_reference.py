"""Usage records' price-list version (usage 0006, db_constraint=False like the record's other
references, for the ingest's speed) is checked by the statement trigger too, and a version that
records name cannot be deleted. tests/test_usage_record_references.py derives the guarded
columns from the model, which is how this gap was found.

The SQL is in sql/usage_records_check_references_2.sql and
sql/0007_usage_record_price_list_reference.sql (and .reverse.sql).
"""

from pathlib import Path

from django.db import migrations


def _sql(name: str) -> str:
    return (Path(__file__).parent / "sql" / name).read_text()


class Migration(migrations.Migration):
    dependencies = [("usage", "0006_whatsapp_per_message_pricing")]
    operations = [
        migrations.RunSQL(
            sql=[_sql("usage_records_check_references_2.sql"), _sql("0007_usage_record_price_list_reference.sql")],
            reverse_sql=[
                _sql("0007_usage_record_price_list_reference.reverse.sql"),
                _sql("usage_records_check_references_1.sql"),
            ],
        )
    ]
