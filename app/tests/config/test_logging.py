import json
import logging

from config.logging import JsonFormatter


def test_json_lines_carry_extra_fields_and_exceptions():
    record = logging.makeLogRecord(
        {"name": "catalog.cache", "levelname": "WARNING", "msg": "Redis %s", "args": ("down",),
         "company_id": 7}
    )  # fmt: skip
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "Redis down"
    assert line["level"] == "WARNING"
    assert line["company_id"] == 7
    assert "ValueError: boom" in line["exception"]
