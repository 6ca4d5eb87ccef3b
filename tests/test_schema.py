import pandas as pd
import pyarrow as pa
import pytest

from ltv.errors import SchemaError
from ltv.schema import (CONTRACTS, TRANSACTIONS, validate_customers, validate_events,
                        validate_predictions, validate_transactions)


def _tx(**overrides):
    base = {"customer_id": ["a", "b"], "ts": ["2020-01-01 10:00", "2020-01-02"], "amount": [10.0, -2.5]}
    base.update(overrides)
    return pd.DataFrame(base)


def test_valid_transactions_get_canonical_types():
    out = validate_transactions(_tx())
    assert list(out.columns) == ["customer_id", "ts", "amount"]
    assert out["ts"].iloc[0] == pd.Timestamp("2020-01-01 10:00")
    assert out["amount"].tolist() == [10.0, -2.5]  # returns stay negative


def test_arrow_input_is_accepted():
    assert len(validate_transactions(pa.Table.from_pandas(_tx()))) == 2


def test_missing_required_column_names_column_and_fix():
    with pytest.raises(SchemaError) as err:
        validate_transactions(_tx().drop(columns="amount"))
    assert err.value.column == "amount"
    assert "--map amount=" in str(err.value)


def test_bad_value_names_row_column_value():
    with pytest.raises(SchemaError) as err:
        validate_transactions(_tx(amount=["10", "ten"]))
    assert (err.value.column, err.value.row) == ("amount", 2)
    assert "'ten'" in str(err.value) and "1 of 2" in str(err.value)


def test_whole_column_wrong_type_is_one_message():
    with pytest.raises(SchemaError, match="no value converts to TIMESTAMP"):
        validate_transactions(_tx(ts=["yesterday", "today"]))


def test_guest_row_is_rejected_with_reason():
    with pytest.raises(SchemaError) as err:
        validate_transactions(_tx(customer_id=["a", " "]))
    assert err.value.row == 2 and "guest" in str(err.value)


def test_tz_aware_timestamps_become_utc():
    ts = pd.to_datetime(["2020-06-01 12:00"]).tz_localize("Europe/London")
    out = validate_transactions(pd.DataFrame({"customer_id": ["a"], "ts": ts, "amount": [1.0]}))
    assert out["ts"].iloc[0] == pd.Timestamp("2020-06-01 11:00")


def test_events_reject_negative_price():
    frame = pd.DataFrame({"customer_id": ["a"], "ts": ["2020-01-01"], "event_type": ["view"], "price": [-1.0]})
    with pytest.raises(SchemaError, match="price"):
        validate_events(frame)


def test_customers_keep_extra_attributes_transactions_do_not():
    cust = validate_customers(pd.DataFrame({"customer_id": ["a"], "country": ["UK"]}))
    assert list(cust.columns) == ["customer_id", "country"]
    tx = validate_transactions(_tx(note=["x", "y"]))
    assert "note" not in tx.columns


def test_predictions_rules():
    good = pd.DataFrame({"customer_id": ["a"], "model": ["m"], "ltv": [5.0], "ltv_lo": [1.0],
                         "ltv_hi": [9.0], "p_active": [0.5]})
    assert len(validate_predictions(good)) == 1
    with pytest.raises(SchemaError, match="p_active"):
        validate_predictions(good.assign(p_active=1.5))
    with pytest.raises(SchemaError, match="ltv_lo"):
        validate_predictions(good.assign(ltv_lo=10.0))


def test_every_contract_has_reason_sql_per_rule():
    for contract in CONTRACTS.values():
        sql = contract.rejection_reason_sql()
        assert sql.count("WHEN") == len(contract.rules)
    assert TRANSACTIONS.required == ["customer_id", "ts", "amount"]
