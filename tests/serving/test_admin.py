"""Admin endpoints: bearer token, promote, rollback, reload, A/B split by customer hash."""

from __future__ import annotations

import numpy as np

from ltv.serving.abtest import arm_for

from .conftest import NAME, TOKEN, feature_rows


def _scores(client, shop, n=40):
    response = client.post("/v1/predict", json={"rows": feature_rows(shop, n)})
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


def _values(predictions):
    return np.array([p["ltv"] for p in predictions])


def test_admin_needs_the_token(live):
    with live.client() as anonymous, live.client("wrong-token-wrong-token") as wrong:
        assert anonymous.post("/v1/admin/rollback").status_code == 401
        assert wrong.post("/v1/admin/promote", json={"version": 2}).status_code == 403


def test_promote_and_rollback_switch_the_scoring_version(live, shop):
    v1 = shop.models[1].predict(shop.snapshot.iloc[:40])["ltv"].to_numpy()
    v2 = shop.models[2].predict(shop.snapshot.iloc[:40])["ltv"].to_numpy()
    assert not np.allclose(v1, v2)
    with live.client(TOKEN) as client:
        np.testing.assert_allclose(_values(_scores(client, shop)), v1, rtol=1e-9)
        promoted = client.post("/v1/admin/promote", json={"version": 2})
        assert promoted.status_code == 200 and promoted.json()["champion"] == 2
        after = _scores(client, shop)
        assert {p["model_version"] for p in after} == {2}
        np.testing.assert_allclose(_values(after), v2, rtol=1e-9)
        assert shop.registry.champion(NAME) == 2  # the pointer moved, not just this server
        back = client.post("/v1/admin/rollback")
        assert back.status_code == 200 and back.json()["champion"] == 1
        np.testing.assert_allclose(_values(_scores(client, shop)), v1, rtol=1e-9)


def test_unknown_version_and_nothing_to_roll_back(live):
    with live.client(TOKEN) as client:
        unknown = client.post("/v1/admin/promote", json={"version": 99})
        assert unknown.status_code == 404 and "no version 99" in unknown.json()["detail"]


def test_reload_follows_a_promote_made_elsewhere(live, shop):
    with live.client(TOKEN) as client:
        shop.registry.promote(NAME, 2)  # e.g. `ltv registry promote` from a shell
        reloaded = client.post("/v1/admin/reload")
        assert reloaded.status_code == 200 and reloaded.json()["champion"] == 2
        assert {p["model_version"] for p in _scores(client, shop, 5)} == {2}


def test_ab_split_by_customer_hash(live, shop):
    n = len(shop.snapshot)
    with live.client(TOKEN) as client:
        set_ab = client.post("/v1/admin/ab", json={"challenger": 2, "share": 0.3})
        assert set_ab.status_code == 200 and set_ab.json()["challenger"] == 2
        first = _scores(client, shop, n)
        again = _scores(client, shop, n)
    arms = [p["arm"] for p in first]
    assert arms == [p["arm"] for p in again]  # stable per customer
    assert arms == [arm_for(p["customer_id"], NAME, 0.3) for p in first]
    share = arms.count("challenger") / n
    assert abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n)  # binomial, 4 sigma
    for version in (1, 2):
        mine = [i for i, p in enumerate(first) if p["model_version"] == version]
        expected = shop.models[version].predict(shop.snapshot.iloc[mine])["ltv"]
        np.testing.assert_allclose(_values([first[i] for i in mine]), expected, rtol=1e-9)
    assert {p["arm"] for p in first if p["model_version"] == 2} == {"challenger"}
