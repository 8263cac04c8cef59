"""One forest, one project: external ids and land parcel ids belong to one project only.

An outside audit once issued 300,000 t for one 150,000 t forest-year by registering the same
forest under a second project id. A project therefore names its external ids (a CCER project
number, another registry's id) and the parcels it covers; each is indexed, and a project that
claims an id or parcel another project holds is refused, naming the holder.
"""

from __future__ import annotations

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import AlreadyExists
from carbon_ticket.chain.state import StateOverlay
from carbon_ticket.proto import ledger_pb2

__all__ = ["claim_project_ids", "require_unclaimed_ids"]


def require_unclaimed_ids(state: StateOverlay, msg: ledger_pb2.RegisterProject) -> None:
    """Verify no other project holds one of the external ids or parcels ``msg`` claims."""
    for external_id in msg.external_ids:
        holder = state.get(keys.project_external_id_key(external_id))
        if holder is not None:
            raise AlreadyExists(
                f"external id {external_id!r} is already held by project {holder.decode()}; "
                "one forest is registered once",
                "external_id_taken",
            )
    for parcel_id in msg.parcel_ids:
        holder = state.get(keys.project_parcel_key(parcel_id))
        if holder is not None:
            raise AlreadyExists(
                f"parcel {parcel_id!r} is already covered by project {holder.decode()}; "
                "one forest is registered once",
                "parcel_taken",
            )


def claim_project_ids(state: StateOverlay, msg: ledger_pb2.RegisterProject) -> None:
    """Index the project's external ids and parcels under its id (after the checks)."""
    holder = msg.project_id.encode()
    for external_id in msg.external_ids:
        state.set(keys.project_external_id_key(external_id), holder)
    for parcel_id in msg.parcel_ids:
        state.set(keys.project_parcel_key(parcel_id), holder)
