"""The catalogue of plans and paid services, read from billing/catalogue.toml and checked on load.

Names, prices, intervals and plan limits live in that one file; Stripe is made to match it by
`python manage.py stripe_sync_catalog` (billing.services.catalogue_sync), and the plan limits the
product enforces are read from here. A mistake in the file (an unknown key, a missing field, a wrong
type) raises CatalogueError with a sentence naming where it is.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenants.models import Organization

CATALOGUE_PATH = Path(__file__).resolve().parent / "catalogue.toml"

LANGUAGES = ("fr", "en")
INTERVALS = ("month", "year", "one_off")
SUBSCRIBE_WAYS = ("free", "checkout", "invoice")
UNLIMITED = "unlimited"


class CatalogueError(ValueError):
    """The catalogue file is wrong; the message says where and how."""


@dataclass(frozen=True)
class Text:
    fr: str
    en: str

    def get(self, language: str) -> str:
        return self.fr if language.startswith("fr") else self.en


@dataclass(frozen=True)
class PriceSpec:
    lookup_key: str
    amount: int  # in cents
    currency: str  # lower case, as Stripe answers it
    interval: str  # month, year or one_off
    metered: bool = False

    @property
    def recurring(self) -> bool:
        return self.interval != "one_off"


@dataclass(frozen=True)
class Limits:
    """None means unlimited."""

    open_challenges: int | None
    active_participants: int | None


@dataclass(frozen=True)
class Plan:
    key: str  # one of Organization.Plan
    name: Text
    description: Text
    subscribe: str  # free (no Stripe subscription), checkout, invoice (send_invoice, no Checkout)
    kinds: tuple[str, ...]  # the organisation kinds that may take it
    limits: Limits
    prices: tuple[PriceSpec, ...]

    @property
    def paid(self) -> bool:
        return bool(self.prices)

    @property
    def product_id(self) -> str:
        return f"crowdact_plan_{self.key}"

    @property
    def metered_price(self) -> PriceSpec | None:
        return next((price for price in self.prices if price.metered), None)


@dataclass(frozen=True)
class Service:
    key: str
    name: Text
    description: Text
    price: PriceSpec

    @property
    def product_id(self) -> str:
        return f"crowdact_service_{self.key}"


@dataclass(frozen=True)
class MeterSpec:
    event_name: str
    display_name: str
    formula: str
    customer_key: str
    value_key: str


@dataclass(frozen=True)
class Catalogue:
    stripe_language: str
    meter: MeterSpec
    plans: dict[str, Plan]
    services: dict[str, Service]

    def plan(self, key: str) -> Plan:
        return self.plans[key]

    def prices(self) -> Iterator[tuple[Plan | Service, PriceSpec]]:
        for plan in self.plans.values():
            for price in plan.prices:
                yield plan, price
        for service in self.services.values():
            yield service, service.price

    def lookup_keys(self) -> list[str]:
        return [price.lookup_key for _, price in self.prices()]

    def plan_for_lookup_key(self, lookup_key: str | None) -> str | None:
        for plan in self.plans.values():
            if any(price.lookup_key == lookup_key for price in plan.prices):
                return plan.key
        return None

    def price(self, lookup_key: str) -> PriceSpec:
        for _, price in self.prices():
            if price.lookup_key == lookup_key:
                return price
        raise KeyError(lookup_key)


# Reading, with a sentence for every mistake ---------------------------------------------------------


class _Table:
    """A TOML table being read: every key must be used, every field present and of its type."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise CatalogueError(f"catalogue: {where} must be a table, not {type(data).__name__}.")
        self.data, self.where, self.used = data, where, set[str]()

    def _get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise CatalogueError(f"catalogue: {self.where} has no “{key}” (a required field).")
            return default
        value = self.data[key]
        # bool is an int in Python: a price of `true` cents is refused.
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _tuple(kind)):
            names = " or ".join(t.__name__ for t in _tuple(kind))
            raise CatalogueError(f"catalogue: {self.where}.{key} must be {names}, not {value!r}.")
        return value

    def string(self, key: str, choices: tuple[str, ...] | None = None) -> str:
        value: str = self._get(key, str)
        if not value.strip():
            raise CatalogueError(f"catalogue: {self.where}.{key} is empty.")
        if choices and value not in choices:
            raise CatalogueError(
                f"catalogue: {self.where}.{key} is “{value}”; it must be one of {', '.join(choices)}."
            )
        return value

    def integer(self, key: str) -> int:
        value: int = self._get(key, int)
        if value < 0:
            raise CatalogueError(f"catalogue: {self.where}.{key} must not be negative.")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value: bool = self._get(key, bool, default)
        return value

    def table(self, key: str) -> _Table:
        return _Table(self._get(key, dict), f"{self.where}.{key}")

    def array(self, key: str) -> list[Any]:
        value: list[Any] = self._get(key, list)
        return value

    def limit(self, key: str) -> int | None:
        value = self._get(key, (int, str))
        if value == UNLIMITED:
            return None
        if isinstance(value, str) or value < 0:
            raise CatalogueError(
                f"catalogue: {self.where}.{key} must be a number or “{UNLIMITED}”, not {value!r}."
            )
        return int(value)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise CatalogueError(
                f"catalogue: {self.where} has unknown key(s) {', '.join(unknown)}; "
                "check the spelling against billing/catalogue.toml's comments."
            )


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _text(table: _Table, key: str) -> Text:
    inner = table.table(key)
    text = Text(fr=inner.string("fr"), en=inner.string("en"))
    inner.done()
    return text


def _price(data: Any, where: str) -> PriceSpec:
    table = _Table(data, where)
    currency = table.string("currency")
    if len(currency) != 3 or not currency.isalpha():
        raise CatalogueError(f"catalogue: {where}.currency must be a 3-letter code such as EUR.")
    price = PriceSpec(
        lookup_key=table.string("lookup_key"),
        amount=table.integer("amount"),
        currency=currency.lower(),
        interval=table.string("interval", INTERVALS),
        metered=table.boolean("metered", False),
    )
    table.done()
    if price.metered and not price.recurring:
        raise CatalogueError(f"catalogue: {where} is metered, so it needs a month or year interval.")
    return price


def _plan(key: str, data: Any) -> Plan:
    where = f"plans.{key}"
    table = _Table(data, where)
    limits_table = table.table("limits")
    limits = Limits(
        open_challenges=limits_table.limit("open_challenges"),
        active_participants=limits_table.limit("active_participants"),
    )
    limits_table.done()
    kinds = tuple(table.array("kinds"))
    for kind in kinds:
        if kind not in Organization.Kind.values:
            raise CatalogueError(
                f"catalogue: {where}.kinds has “{kind}”; kinds are {', '.join(Organization.Kind.values)}."
            )
    prices = tuple(_price(item, f"{where}.prices[{i}]") for i, item in enumerate(table.array("prices")))
    plan = Plan(
        key=key,
        name=_text(table, "name"),
        description=_text(table, "description"),
        subscribe=table.string("subscribe", SUBSCRIBE_WAYS),
        kinds=kinds,
        limits=limits,
        prices=prices,
    )
    table.done()
    if (plan.subscribe == "free") != (not prices):
        raise CatalogueError(f"catalogue: {where}: a free plan has no prices, and a paid plan has some.")
    if len({(p.currency, p.interval) for p in prices}) > 1:
        raise CatalogueError(f"catalogue: {where}: its prices must share one currency and one interval.")
    if any(not p.recurring for p in prices):
        raise CatalogueError(f"catalogue: {where}: a plan's prices are monthly or yearly, not one-off.")
    return plan


def _service(key: str, data: Any) -> Service:
    where = f"services.{key}"
    table = _Table(data, where)
    service = Service(
        key=key,
        name=_text(table, "name"),
        description=_text(table, "description"),
        price=_price(table._get("price", dict), f"{where}.price"),
    )
    table.done()
    if service.price.recurring or service.price.metered:
        raise CatalogueError(f"catalogue: {where}.price must be one_off: a service is bought once.")
    return service


def catalogue_parse(text: str) -> Catalogue:
    """The catalogue in `text` (TOML), checked; CatalogueError says what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"catalogue: not valid TOML ({exc}).") from exc
    root = _Table(data, "the catalogue")
    meter_table = root.table("meter")
    meter = MeterSpec(
        event_name=meter_table.string("event_name"),
        display_name=meter_table.string("display_name"),
        formula=meter_table.string("formula", ("last",)),
        customer_key=meter_table.string("customer_key"),
        value_key=meter_table.string("value_key"),
    )
    meter_table.done()
    plans_table = root.table("plans")
    plans = {key: _plan(key, plans_table._get(key, dict)) for key in list(plans_table.data)}
    services_table = root.table("services")
    services = {key: _service(key, services_table._get(key, dict)) for key in list(services_table.data)}
    catalogue = Catalogue(
        stripe_language=root.string("stripe_language", LANGUAGES), meter=meter, plans=plans, services=services
    )
    root.done()

    wanted, found = set(Organization.Plan.values), set(plans)
    if wanted != found:
        raise CatalogueError(
            "catalogue: the plans must be exactly those of Organization.Plan "
            f"({', '.join(sorted(wanted))}); found {', '.join(sorted(found)) or 'none'}."
        )
    keys = catalogue.lookup_keys()
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise CatalogueError(f"catalogue: lookup key(s) {', '.join(duplicates)} appear more than once.")
    for plan in plans.values():
        if sum(price.metered for price in plan.prices) > 1:
            raise CatalogueError(f"catalogue: plans.{plan.key} has more than one metered price.")
    return catalogue


def catalogue_load(path: Path | None = None) -> Catalogue:
    """The catalogue in `path` (billing/catalogue.toml by default), checked."""
    target = path or CATALOGUE_PATH
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(f"catalogue: cannot read {target} ({exc.strerror}).") from exc
    return catalogue_parse(text)


@functools.cache
def catalogue() -> Catalogue:
    """The product's catalogue, read once per process."""
    return catalogue_load()
