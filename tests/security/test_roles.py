"""Finding 4: roles from a user-writable claim. A staff role comes only from the user's Cognito groups or an
access token's scopes; a ``custom:role`` attribute (users can write their own attributes) grants nothing, and a
staff user's ID token is refused on staff routes."""

from __future__ import annotations

import pytest

from tests.security.conftest import Shop, tag

STAFF_ROUTES = [
    ("GET", "/profiles", {"email": "someone@posta.com.tr"}),
    ("GET", "/profiles/blocked-identifiers", None),
    ("GET", "/kpis", {"start": "2026-01-01"}),
    ("GET", "/handoff/context", {"phone": "+905321234567"}),
    ("GET", "/carts/customers/someone-else", None),
]


@pytest.mark.parametrize(("method", "path", "query"), STAFF_ROUTES)
@pytest.mark.parametrize("role", ["agent", "admin"])
def test_a_customer_who_gave_themselves_a_role_attribute_is_still_a_customer(
    shop: Shop, method: str, path: str, query: dict[str, str] | None, role: str
) -> None:
    sub = f"sub-{tag()}"
    for id_token in (False, True):
        headers = shop.bearer("customer", sub, id_token=id_token, claims={"custom:role": role})
        answer = shop.rt.request(method, path, headers=headers, query=query)
        assert answer.status in (403, 404), (path, answer.body)


@pytest.mark.parametrize(("method", "path", "query"), STAFF_ROUTES)
def test_a_staff_members_id_token_is_refused_on_staff_routes(
    shop: Shop, method: str, path: str, query: dict[str, str] | None
) -> None:
    id_token = shop.bearer("admin", "dpo-1", id_token=True)
    assert shop.rt.request(method, path, headers=id_token, query=query).status in (403, 404)
    access = shop.bearer("admin", "dpo-1")
    assert shop.rt.request(method, path, headers=access, query=query).status not in (401, 403)


def test_erasure_and_unmerge_need_an_admins_access_token(shop: Shop) -> None:
    run = tag()
    shop.identify(userId=f"sub-{run}", traits={"email": f"x.{run}@posta.com.tr"})
    shop.settle()
    profile = shop.profile_by("user_id", f"sub-{run}")
    assert profile is not None
    for headers in (
        shop.bearer("customer", f"sub-{run}", claims={"custom:role": "admin"}),
        shop.bearer("admin", "dpo-2", id_token=True),
        shop.agent,
    ):
        refused = shop.rt.request("DELETE", f"/profiles/{profile['profile_id']}", headers=headers)
        assert refused.status == 403
    assert (
        "access token"
        in shop.rt.request(
            "DELETE", f"/profiles/{profile['profile_id']}", headers=shop.bearer("admin", "dpo-2", id_token=True)
        ).json()["message"]
    )
