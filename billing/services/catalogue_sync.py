"""Make Stripe's products, meter and prices match billing/catalogue.toml (stripe_sync_catalog).

Products have fixed ids (crowdact_plan_<key>, crowdact_service_<key>); the meter is found by its
event name; prices by lookup key. What matches is kept, so a second run creates nothing. A price
cannot change on Stripe: a new amount (or interval, currency, meter) makes a new price that takes
the lookup key over (`transfer_lookup_key`), and the old one is archived; its subscriptions go on.
A meter's aggregation cannot change either: a different one stops the sync with a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from billing import stripe_client
from billing.catalogue import Catalogue, CatalogueError, Plan, PriceSpec, Service, catalogue

Data = dict[str, Any]


@dataclass(frozen=True)
class SyncLine:
    action: str  # created, updated, kept, archived
    kind: str  # meter, product, price
    key: str
    stripe_id: str

    def __str__(self) -> str:
        return f"{self.action:<8} {self.kind:<7} {self.key} ({self.stripe_id})"


def _meter_sync(spec: Catalogue) -> tuple[SyncLine, str]:
    meter = spec.meter
    found = next((m for m in stripe_client.meter_list() if m.get("event_name") == meter.event_name), None)
    if found is None:
        created = stripe_client.meter_create(
            {
                "display_name": meter.display_name,
                "event_name": meter.event_name,
                "default_aggregation": {"formula": meter.formula},
                "customer_mapping": {"event_payload_key": meter.customer_key, "type": "by_id"},
                "value_settings": {"event_payload_key": meter.value_key},
            }
        )
        return SyncLine("created", "meter", meter.event_name, created["id"]), created["id"]
    actual = (
        (found.get("default_aggregation") or {}).get("formula"),
        (found.get("customer_mapping") or {}).get("event_payload_key"),
        (found.get("value_settings") or {}).get("event_payload_key"),
    )
    if actual != (meter.formula, meter.customer_key, meter.value_key):
        raise CatalogueError(
            f"The meter {found['id']} ({meter.event_name}) on Stripe aggregates with {actual[0]} over "
            f"{actual[1]}/{actual[2]}, the catalogue wants {meter.formula} over "
            f"{meter.customer_key}/{meter.value_key}; Stripe cannot change that: deactivate the meter "
            "in Stripe's dashboard, then run this again."
        )
    if found.get("display_name") != meter.display_name:
        stripe_client.meter_update(found["id"], {"display_name": meter.display_name})
        return SyncLine("updated", "meter", meter.event_name, found["id"]), found["id"]
    return SyncLine("kept", "meter", meter.event_name, found["id"]), found["id"]


def _product_sync(spec: Catalogue, owner: Plan | Service) -> SyncLine:
    language = spec.stripe_language
    kind = "plan" if isinstance(owner, Plan) else "service"
    metadata = {
        "crowdact_kind": kind,
        "crowdact_key": owner.key,
        "name_fr": owner.name.fr,
        "name_en": owner.name.en,
    }
    wanted: Data = {
        "name": f"Crowdact {owner.name.get(language)}",
        "description": owner.description.get(language),
        "metadata": metadata,
    }
    found = stripe_client.product_retrieve(owner.product_id)
    if found is None:
        stripe_client.product_create({"id": owner.product_id, **wanted})
        return SyncLine("created", "product", owner.key, owner.product_id)
    same = (
        found.get("name") == wanted["name"]
        and found.get("description") == wanted["description"]
        and all((found.get("metadata") or {}).get(k) == v for k, v in metadata.items())
        and found.get("active", True)
    )
    if same:
        return SyncLine("kept", "product", owner.key, owner.product_id)
    stripe_client.product_update(owner.product_id, {**wanted, "active": True})
    return SyncLine("updated", "product", owner.key, owner.product_id)


def _price_wanted(owner: Plan | Service, price: PriceSpec, meter_id: str) -> Data:
    wanted: Data = {
        "product": owner.product_id,
        "currency": price.currency,
        "unit_amount": price.amount,
        "lookup_key": price.lookup_key,
        "nickname": f"{owner.name.en} ({price.lookup_key})",
        "metadata": {("crowdact_plan" if isinstance(owner, Plan) else "crowdact_service"): owner.key},
    }
    if price.recurring:
        wanted["recurring"] = {
            "interval": price.interval,
            "usage_type": "metered" if price.metered else "licensed",
        }
        if price.metered:
            wanted["recurring"]["meter"] = meter_id
    return wanted


def _same_terms(found: Data, wanted: Data) -> bool:
    """What Stripe cannot change on a price: product, currency, amount, interval, usage, meter."""
    recurring, wanted_recurring = found.get("recurring") or {}, wanted.get("recurring") or {}
    return (
        found.get("product") == wanted["product"]
        and found.get("currency") == wanted["currency"]
        and found.get("unit_amount") == wanted["unit_amount"]
        and bool(recurring) == bool(wanted_recurring)
        and recurring.get("interval") == wanted_recurring.get("interval")
        and (recurring.get("interval_count") or 1) == 1
        and (recurring.get("usage_type") or "licensed") == wanted_recurring.get("usage_type", "licensed")
        and recurring.get("meter") == wanted_recurring.get("meter")
    )


def catalogue_sync(spec: Catalogue | None = None) -> list[SyncLine]:
    """Create or update on Stripe what the catalogue says; returns one line per object, saying
    whether it was created, updated, kept (or an old price archived). Raises CatalogueError,
    BillingNotConfigured, BillingUnavailable, StripeRefused; a run stopped halfway is finished by
    the next one."""
    spec = spec or catalogue()
    meter_line, meter_id = _meter_sync(spec)
    lines = [meter_line]
    owners: list[Plan | Service] = [plan for plan in spec.plans.values() if plan.paid]
    owners += list(spec.services.values())
    lines += [_product_sync(spec, owner) for owner in owners]
    existing = {
        p["lookup_key"]: p for p in stripe_client.price_list(spec.lookup_keys()) if p.get("lookup_key")
    }
    for owner, price in spec.prices():
        wanted = _price_wanted(owner, price, meter_id)
        found = existing.get(price.lookup_key)
        if found is not None and _same_terms(found, wanted):
            changes: Data = {}
            if found.get("nickname") != wanted["nickname"]:
                changes["nickname"] = wanted["nickname"]
            if any((found.get("metadata") or {}).get(k) != v for k, v in wanted["metadata"].items()):
                changes["metadata"] = wanted["metadata"]
            if not found.get("active", True):
                changes["active"] = True
            if changes:
                stripe_client.price_update(found["id"], changes)
                lines.append(SyncLine("updated", "price", price.lookup_key, found["id"]))
            else:
                lines.append(SyncLine("kept", "price", price.lookup_key, found["id"]))
            continue
        created = stripe_client.price_create({**wanted, **({"transfer_lookup_key": True} if found else {})})
        lines.append(SyncLine("created", "price", price.lookup_key, created["id"]))
        if found is not None:
            stripe_client.price_update(found["id"], {"active": False})
            lines.append(SyncLine("archived", "price", price.lookup_key, found["id"]))
    return lines
