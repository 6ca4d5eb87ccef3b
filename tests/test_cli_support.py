import pytest

from ltv.cli_support import parse_mapping, split_list
from ltv.errors import LTVError


def test_parse_mapping():
    assert parse_mapping("customer=CustomerID, ts=InvoiceDate,amount=Revenue") == {
        "customer": "CustomerID", "ts": "InvoiceDate", "amount": "Revenue"}
    assert parse_mapping(None) is None


@pytest.mark.parametrize("bad", ["customer", "customer=", "=CustomerID"])
def test_parse_mapping_errors_name_the_entry(bad):
    with pytest.raises(LTVError, match="--map"):
        parse_mapping(bad)


def test_split_list():
    assert split_list("email, phone,,name") == ["email", "phone", "name"]
    assert split_list(None) == []
