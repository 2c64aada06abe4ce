"""The audit of staff actions (issue 20): every staff action is recorded with the staff member, their
store, the time and the object; managers list every store, associates only their own."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from order_service.models import StaffUser
from tests.order_service.conftest import customer, place, set_stock, staff_headers


def staff_row(engine, username: str) -> StaffUser:
    with Session(engine) as s:
        return s.scalars(select(StaffUser).where(StaffUser.username == username)).one()


def actions(client, headers, **params) -> list[dict]:
    r = client.get("/staff/actions", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_staff_actions_are_audited_with_who_where_when_and_what(client, engine):
    started = datetime.now(UTC)
    set_stock(engine, 7, "SKU-CPU", 5)
    order = place(client, "cust-alice", sku="SKU-CPU", store_id=7)
    assoc = staff_headers(client, "assoc-7")
    client.post(
        f"/orders/{order['id']}/confirm", headers={"Authorization": "Bearer x"}
    )  # refused, not audited
    assert client.post(f"/orders/{order['id']}/confirm", headers=customer()).status_code == 200
    made_ready = client.post(
        f"/staff/orders/{order['id']}/status", json={"status": "ready_for_pickup"}, headers=assoc
    )
    assert made_ready.status_code == 200, made_ready.text
    set_stock(engine, 281, "SKU-RAM", 9)
    moved = client.post(
        "/staff/transfers",
        json={"sku": "SKU-RAM", "from_location_id": 281, "to_location_id": 7, "quantity": 2},
        headers=assoc,
    )
    assert moved.status_code == 201, moved.text
    reported = client.post(
        "/staff/actions", json={"action": "handoff_claim", "object": "conversation:abc"}, headers=assoc
    )
    assert reported.status_code == 201, reported.text

    me = staff_row(engine, "assoc-7")
    rows = actions(client, staff_headers(client, "manager"), staff_id=me.id)
    assert [r["action"] for r in rows] == ["handoff_claim", "transfer", "order_status", "sign_in"]
    for row in rows:
        assert (row["staff_id"], row["username"], row["role"], row["store_id"]) == (
            me.id,
            "assoc-7",
            me.role,
            me.store_id,
        )
        assert started <= datetime.fromisoformat(row["at"]) <= datetime.now(UTC)
    by_action = {r["action"]: r for r in rows}
    assert by_action["order_status"]["object"] == f"order:{order['id']}"
    assert by_action["order_status"]["detail"] == {"from": "confirmed", "to": "ready_for_pickup"}
    assert by_action["transfer"]["detail"] == {"sku": "SKU-RAM", "from": 281, "to": 7, "quantity": 2}
    assert by_action["handoff_claim"]["object"] == "conversation:abc"
    assert by_action["sign_in"]["object"] == "staff:assoc-7"


def test_associates_see_only_their_own_store_managers_see_all(client, engine):
    assoc7, assoc281 = staff_headers(client, "assoc-7"), staff_headers(client, "assoc-281")
    manager = staff_headers(client, "manager")
    for headers, obj in ((assoc7, "conversation:seven"), (assoc281, "conversation:other")):
        assert (
            client.post(
                "/staff/actions", json={"action": "handoff_reply", "object": obj}, headers=headers
            ).status_code
            == 201
        )

    stores_seen = {r["store_id"] for r in actions(client, assoc7)}
    assert stores_seen == {staff_row(engine, "assoc-7").store_id}
    assert "conversation:other" not in {r["object"] for r in actions(client, assoc7)}
    assert client.get("/staff/actions", headers=assoc7, params={"store_id": 281}).status_code == 403

    everything = actions(client, manager)
    assert {"conversation:seven", "conversation:other"} <= {r["object"] for r in everything}
    assert {r["store_id"] for r in actions(client, manager, store_id=281)} == {
        staff_row(engine, "assoc-281").store_id
    }


def test_a_client_cannot_write_order_service_actions_or_anonymously(client):
    assoc = staff_headers(client, "assoc-7")
    forged = client.post(
        "/staff/actions", json={"action": "sign_in", "object": "staff:manager"}, headers=assoc
    )
    assert forged.status_code == 422
    assert client.post("/staff/actions", json={"action": "handoff_claim", "object": "x"}).status_code == 401
    assert client.get("/staff/actions").status_code == 401
