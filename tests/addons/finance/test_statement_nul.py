"""A statement CSV with a NUL byte (issue 11): refused with its line, nothing imported (it
passed the checks and crashed the PostgreSQL write)."""
import pytest

from addons.finance import services
from tests.addons.finance.test_statements import CSV, counts


def test_a_nul_in_a_statement_csv_is_refused_with_its_line(app):
    before = counts()
    data = CSV.replace(b"Bank charges", b"Bank\x00charges")
    with pytest.raises(services.StatementError) as exc:
        services.import_statement(data, filename="nul.csv", bank_code="MAIN")
    assert "Line 4 contains a NUL character" in exc.value.message
    assert counts() == before
