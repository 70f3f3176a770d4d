"""Group writes: create (never twice), PATCH by delta, the removal shape each server accepts,
PUT without PATCH.

A create whose outcome is unknown (5xx, timeout, dropped connection) is looked up again over
a few seconds before it is repeated: search indexes lag. Removals come in two shapes: the
RFC's filter path `members[value eq "id"]` and Entra's value array under `path: "members"`.
A literal server reads the value array as "remove every member", so that shape is never
trusted on a server until it has been seen to remove only the members listed: the first such
removal is sent alone, the group read before and after, and if other members went too they
are added back at once and no removal is sent to that server again. Without PATCH, a group
is replaced (PUT) only from a member list known to be complete (app.scim.http.replace).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any, Protocol

from app.scim.http import answers
from app.scim.http.errors import (
    BadAnswer,
    ConnectError,
    PartlyWritten,
    ScimError,
    UnsafeRemoval,
    UnsafeWrite,
)
from app.scim.http.features import Features
from app.scim.http.protocol import (
    GROUP_SCHEMA,
    PATCH_SCHEMA,
    escape_filter_value,
    has_members,
    member_ids,
    resource_path,
)
from app.scim.http.replace import Witness, replace_members
from app.scim.http.transport import Transport


class ClientCore(Protocol):
    """What the group writes use of ScimClient: its transport, discovery and group reads."""

    create_settle: tuple[float, ...]

    @property
    def base_url(self) -> str: ...

    @property
    def transport(self) -> Transport: ...

    def request(self, method: str, path: str, **kwargs: Any) -> object: ...

    def request_versioned(
        self, method: str, path: str, **kwargs: Any
    ) -> tuple[object, str | None]: ...

    def where(self, method: str, path: str) -> str: ...

    def features(self) -> Features: ...

    def find_groups(self, display_name: str) -> list[dict[str, Any]]: ...

    def find_group(self, display_name: str) -> dict[str, Any] | None: ...

    def get_group(self, group_id: str) -> tuple[dict[str, Any], str | None]: ...


class GroupWrites:
    """The group-writing half of ScimClient, composed into it over the ClientCore it provides."""

    def __init__(self, client: ClientCore) -> None:
        self._client = client
        self._style_lock = threading.RLock()  # worker threads share what is learned
        self.remove_style = "filter"  # "value" once verified; "none" when no shape is safe
        self._remove_style_known = False

    @property
    def _server(self) -> str:
        return self._client.base_url

    def create_group(self, name: str, members: list[str]) -> tuple[dict[str, Any], bool]:
        """(group, adopted): POST /Groups with its first members.

        A 409 to the first attempt means the group was there before: it is adopted. After an
        ambiguous failure (timeout, dropped connection, 5xx) the create may have gone through
        while the server's search index lags: the group is looked up again over
        `create_settle` seconds before the create is repeated, and a repeated create is
        checked for a second group of the same name. A group found after an ambiguous attempt
        (or a 409 to a repeated one) is this create's own, not adopted: the run made it.
        """
        body = {
            "schemas": [GROUP_SCHEMA],
            "displayName": name,
            "members": [{"value": m} for m in members],
        }
        attempt, uncertain = 0, False
        where = self._client.where("POST", "/Groups")
        began = time.monotonic()
        while True:
            attempt += 1
            try:
                created = self._client.request("POST", "/Groups", json=body, retry_ambiguous=False)
            except ScimError as exc:
                ambiguous = (isinstance(exc, ConnectError) and exc.ambiguous) or exc.status >= 500
                if exc.status != 409 and not ambiguous:
                    raise
                existing = self._settled_group(name, wait=exc.status != 409)
                if existing is not None:  # adopted only when no attempt of ours may have made it
                    return existing, exc.status == 409 and not uncertain
                transport = self._client.transport
                if exc.status == 409 or not transport.may_retry(attempt, time.monotonic() - began):
                    raise
                uncertain = True
                continue
            if isinstance(created, dict) and created.get("id") not in (None, ""):
                created = dict(created, id=answers.resource_id(created, where))
            else:
                if created is not None:
                    answers.as_object(created, where)
                created = self._client.find_group(name)
                if created is None:
                    raise ScimError(201, None, f"created group {name!r} but cannot find it")
            if uncertain:
                self._check_single(name, str(created["id"]))
            return created, False

    def _settled_group(self, name: str, wait: bool) -> dict[str, Any] | None:
        """The group, looked up now and (wait) again after each create_settle delay."""
        delays = self._client.create_settle if wait else ()
        found = self._client.find_group(name)
        for delay in delays:
            if found is not None:
                break
            self._client.transport.wait_before_retry(1, delay)
            found = self._client.find_group(name)
        return found

    def _check_single(self, name: str, created_id: str) -> None:
        """After a repeated create: the first one must not have gone through after all."""
        others = [
            g
            for g in self._client.find_groups(name)
            if g.get("displayName") == name and str(g.get("id")) != created_id
        ]
        if others:
            ids = ", ".join([created_id, *(str(g.get("id")) for g in others)])
            raise UnsafeWrite(
                f"{self._server} now has {len(others) + 1} groups named {name!r} (ids {ids}): "
                "a create answered with an error went through after all; delete the extra "
                "ones on the server (keep one) and run the sync again"
            )

    def modify_members(
        self,
        group_id: str,
        add: list[str],
        remove: list[str],
        known_members: Iterable[str] | None = None,
        witness: Witness | None = None,
    ) -> object:
        """One PATCH adding and removing members; the server's answer as sent (200 with a body
        or 204 without), checked by the caller (app.scim.sync.verify.record_answer).

        witness: the version of the group the caller read (RFC 7644 3.14). Every request then
        carries it as If-Match (or the version of a read made on the way), and a group found
        changed since is a ScimError 412 for the caller to read again: never written over
        blind. After the write, `witness.version` is the version it left.

        Without PATCH support, the whole group is replaced with PUT and If-Match, and only when
        a second witness confirms its member list is complete: known_members (ids a source
        other than GET /Groups/{id} places in it: the group list's members, every user's
        `groups`) or the group's own member count. Without one, nothing is sent.
        """
        w = witness or Witness(None)
        if not self._client.features().patch:
            known = None if known_members is None else set(known_members)
            return replace_members(self._client, group_id, add, remove, known, w)
        with self._style_lock:
            style = self.remove_style
        if remove and style == "none":
            raise self._no_safe_removal()
        try:
            result = self._patch_members(group_id, add, remove, style, w)
        except ScimError as exc:
            if not remove or exc.status not in (400, 501) or isinstance(exc, UnsafeWrite):
                raise
            if exc.scim_type == "noTarget":
                # A member is already gone (a retried PATCH whose first answer was lost): the
                # shape works. Never switch shapes here.
                group, version = self._client.get_group(group_id)
                w.moved(version)
                still_there = [m for m in remove if m in set(member_ids(group))]
                if not add and not still_there:
                    return None
                return self._patch_members(group_id, add, still_there, style, w)
            return self._other_shape(group_id, add, remove, style, exc, w)
        if remove:
            with self._style_lock:
                if self.remove_style == style:
                    self._remove_style_known = True
        return result

    def _other_shape(
        self,
        group_id: str,
        add: list[str],
        remove: list[str],
        style: str,
        refused: ScimError,
        w: Witness,
    ) -> object:
        with self._style_lock:  # one thread finds out; the others wait and use the answer
            learned = self.remove_style
            if self._remove_style_known and learned == style:
                raise refused
            if learned == "none":
                raise self._no_safe_removal()
            if learned != style:
                return self._patch_members(group_id, add, remove, learned, w)
            if style != "filter":
                raise refused
            self._verified_value_removal(group_id, add, remove, refused, w)
            return None

    def _verified_value_removal(
        self,
        group_id: str,
        add: list[str],
        remove: list[str],
        refused: ScimError,
        w: Witness,
    ) -> None:
        """Entra's value array, sent alone and checked by reading the group before and after."""
        path = resource_path("/Groups", group_id)
        where = self._client.where("GET", path)
        before, version = self._client.get_group(group_id)
        w.still(version, self._server, group_id)
        if not has_members(before):
            raise UnsafeRemoval(
                f"{self._server} refused the removal members[value eq \"id\"] ({refused.message})"
                "; its other shape, Entra's value array, empties the whole group on some "
                f"servers and cannot be checked here because GET {path} does not return the "
                "members. Nothing was removed: remove these members on the server by hand, or "
                "ask the vendor which removal it supports"
            )
        present = set(member_ids(before, where))
        targets = [m for m in remove if m in present]
        others = present - set(remove)
        if targets:
            self._patch_members(group_id, [], targets, "value", w)
            after, version = self._client.get_group(group_id)
            w.moved(version)
            left = set(member_ids(after, where))
            lost = sorted(others - left)
            if lost:
                self.remove_style, self._remove_style_known = "none", True
                what = (
                    f"{self._server} read Entra's value-array removal as 'remove every "
                    f"member': removing {len(targets)} member(s) from group {group_id} took "
                    f"{len(lost)} other(s) with it"
                )
                try:
                    self._patch_members(group_id, lost, [], "filter", w)  # put back at once
                except ScimError as exc:
                    raise UnsafeRemoval(
                        f"{what}, and adding them back failed ({exc.message}): add these "
                        f"members to the group on the server by hand: {', '.join(lost)}"
                    ) from None
                raise UnsafeRemoval(
                    f"{what}, who were added back at once. The server refuses the RFC removal "
                    "too, so GroupMap sends it no more removals in this sync: remove these "
                    "members on the server by hand"
                )
            kept = [m for m in targets if m in left]
            if kept:
                raise BadAnswer(
                    f"{self._server} accepted the removal of {len(kept)} member(s) from group "
                    f"{group_id} but still lists them; check the group on the server"
                )
            if others:  # only the listed members went: the shape is verified
                self.remove_style, self._remove_style_known = "value", True
        if add:
            try:
                self._patch_members(group_id, add, [], "filter", w)
            except ScimError as exc:
                if targets:
                    raise PartlyWritten(exc, targets) from exc
                raise
        return None

    def _no_safe_removal(self) -> UnsafeRemoval:
        return UnsafeRemoval(
            f"{self._server} refuses the RFC removal members[value eq \"id\"] and reads Entra's "
            "value array as 'remove every member' (seen earlier in this sync): remove these "
            "members on the server by hand"
        )

    def _patch_members(
        self, group_id: str, add: list[str], remove: list[str], style: str, w: Witness
    ) -> object:
        operations: list[dict[str, Any]] = []
        if add:
            operations.append(
                {"op": "add", "path": "members", "value": [{"value": m} for m in add]}
            )
        if remove and style == "filter":
            operations += [
                {"op": "remove", "path": f"members[value eq {escape_filter_value(m)}]"}
                for m in remove
            ]
        elif remove:
            operations.append(
                {"op": "remove", "path": "members", "value": [{"value": m} for m in remove]}
            )
        answer, version = self._client.request_versioned(
            "PATCH",
            resource_path("/Groups", group_id),
            json={"schemas": [PATCH_SCHEMA], "Operations": operations},
            headers={"If-Match": w.version} if w.version else None,
            retry_ambiguous=w.version is None,  # conditional: the caller reads what happened
        )
        w.moved(version)
        return answer
